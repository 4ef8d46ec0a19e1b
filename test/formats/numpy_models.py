"""NumPy's side of the format tests (Debian's python3-numpy; run with /usr/bin/python3).

  numpy_models.py predict MODEL.npz DATASET_DIR OUT.json   softmax(X @ W + b) on the 10,000 test images
  numpy_models.py train DATASET_DIR OUT.npz OUT.json        the chapter's SGD in NumPy, then its predictions
  numpy_models.py hostile OUT_DIR                           NPZ files a model import must refuse, one per flaw
  numpy_models.py layouts OUT_DIR                           one W in both shapes and both orders, and other flawed layouts
  numpy_models.py follow SENT.npz LINE DIR                  runs LINE (an np.savez line) in DIR with W and b loaded from SENT
"""
import gzip
import json
import os
import sys

import numpy as np


def read_idx(directory, name, offset):
    for candidate in (name, name + '.gz'):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            opener = gzip.open if path.endswith('.gz') else open
            with opener(path, 'rb') as file:
                return np.frombuffer(file.read(), dtype=np.uint8, offset=offset)
    raise FileNotFoundError(name)


def load(directory, split):
    prefix = 'train' if split == 'train' else 't10k'
    images = read_idx(directory, prefix + '-images-idx3-ubyte', 16).reshape(-1, 784)
    labels = read_idx(directory, prefix + '-labels-idx1-ubyte', 8)
    # The chapter's ToTensor: grey levels to [0, 1].
    return images.astype(np.float64) / 255, labels.astype(np.int64)


def softmax(X):
    X_exp = np.exp(X - X.max(axis=1, keepdims=True))
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def net(X, W, b):
    return softmax(X @ W + b)


def write_predictions(path, probabilities):
    with open(path, 'w') as file:
        json.dump({'probabilities': probabilities.ravel().tolist(), 'labels': probabilities.argmax(axis=1).tolist()}, file)


def predict(model_path, directory, out_path):
    model = np.load(model_path)
    W, b = model['W'], model['b']
    assert W.shape == (784, 10) and b.shape == (10,), (W.shape, b.shape)
    X, _ = load(directory, 'test')
    write_predictions(out_path, net(X, W.astype(np.float64), b.astype(np.float64)))


def train(directory, npz_path, out_path):
    # d2l §3.6 in NumPy: W ~ N(0, 0.01²), b = 0, minibatch SGD on the cross-entropy, lr 0.1,
    # batches of 256, one epoch (a short run: any trained W and b will do).
    X, y = load(directory, 'train')
    rng = np.random.default_rng(7)
    W = rng.normal(0, 0.01, size=(784, 10))
    b = np.zeros(10)
    order = rng.permutation(len(X))
    for start in range(0, len(X), 256):
        batch = order[start:start + 256]
        delta = net(X[batch], W, b)
        delta[np.arange(len(batch)), y[batch]] -= 1
        W -= 0.1 * X[batch].T @ delta / len(batch)
        b -= 0.1 * delta.sum(axis=0) / len(batch)
    np.savez(npz_path, W=W, b=b)  # float64, as the loop computed them
    X_test, _ = load(directory, 'test')
    write_predictions(out_path, net(X_test, W, b))


def hostile(directory):
    rng = np.random.default_rng(3)
    W = rng.normal(0, 0.01, size=(784, 10)).astype(np.float32)
    b = np.zeros(10, dtype=np.float32)
    files = {
        'big-endian': dict(W=W.astype('>f4'), b=b),
        'object-array': dict(W=W.astype(object), b=b),
        'int64': dict(W=(W * 1000).astype(np.int64), b=b),
        'float16': dict(W=W.astype(np.float16), b=b),
        'nan': dict(W=np.where(np.arange(7840).reshape(784, 10) == 37, np.nan, W).astype(np.float32), b=b),
        'infinity': dict(W=W, b=np.array([0, 0, np.inf, 0, 0, 0, 0, 0, 0, 0], dtype=np.float32)),
        'beyond-float32': dict(W=np.where(np.arange(7840).reshape(784, 10) == 0, 1e39, W.astype(np.float64)), b=b),
        'extra-array': dict(W=W, b=b, c=b),
        'missing-b': dict(W=W),
        'transposed': dict(W=W.T.copy(), b=b),
        'b-as-row': dict(W=W, b=b.reshape(1, 10)),
    }
    for name, arrays in files.items():
        np.savez(os.path.join(directory, name + '.npz'), **arrays)
    np.savez_compressed(os.path.join(directory, 'valid-compressed.npz'), W=W.astype(np.float64), b=b.astype(np.float64))
    np.savez(os.path.join(directory, 'valid.npz'), W=W, b=b)


def layouts(directory):
    # W (784, 10) as a model has it; the reference file is W and b as they are.
    rng = np.random.default_rng(5)
    W = rng.normal(0, 0.01, size=(784, 10)).astype(np.float32)
    b = rng.normal(0, 0.01, size=10).astype(np.float32)
    files = {
        'reference': dict(W=W, b=b),
        # Both shapes in both orders: (784, 10) in Fortran order is what np.save writes for the
        # transpose of a C-order (10, 784) array, W.T.
        'c-784x10': dict(W=np.ascontiguousarray(W), b=b),
        'f-784x10': dict(W=np.asfortranarray(W), b=b),
        'c-10x784': dict(W=np.ascontiguousarray(W.T), b=b),
        'f-10x784': dict(W=np.asfortranarray(W.T), b=b),
        # Other layouts a refusal names a remedy for.
        'big-endian': dict(W=W.astype('>f4'), b=b),
        'float16': dict(W=W.astype(np.float16), b=b),
        'int64-transposed': dict(W=(W.T * 1e6).astype(np.int64), b=b),
        'object-array': dict(W=W.astype(object), b=b),
        'b-as-row': dict(W=W, b=b.reshape(1, 10)),
        'b-as-column-f8': dict(W=W, b=b.astype(np.float64).reshape(10, 1)),
        'flat-w': dict(W=W.reshape(7840), b=b),
        'w-as-images': dict(W=W.reshape(28, 28, 10), b=b),
        'w-as-class-images': dict(W=np.ascontiguousarray(W.T).reshape(10, 28, 28), b=b),
    }
    for name, arrays in files.items():
        np.savez(os.path.join(directory, name + '.npz'), **arrays)


def follow(sent_path, line, directory):
    # The refusal's advice, exactly as it reads, applied to the arrays that were sent.
    assert line.startswith("np.savez('model.npz', "), line
    sent = np.load(sent_path, allow_pickle=True)
    W, b = sent['W'], sent['b']
    os.chdir(directory)
    exec(line, {'np': np, 'W': W, 'b': b})
    saved = np.load('model.npz')
    # What the service should now hold: the saved arrays in float32, W row-major.
    print(json.dumps({'W': saved['W'].astype(np.float32).ravel(order='C').tolist(), 'b': saved['b'].astype(np.float32).ravel().tolist()}))


if __name__ == '__main__':
    command, *arguments = sys.argv[1:]
    {'predict': predict, 'train': train, 'hostile': hostile, 'layouts': layouts, 'follow': follow}[command](*arguments)
