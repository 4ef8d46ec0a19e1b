"""The chapter's softmax regression in NumPy (float32), for `npm run bench` to time beside ours.

Same algorithm and hyperparameters as src/engine: W ~ N(0, initStd^2), b = 0, pixels / 255,
minibatch SGD on the mean cross-entropy of a shuffled epoch, test accuracy after each epoch
(included in the epoch's seconds, as ours is). Matrix products go to NumPy's BLAS with its
default threading. Prints one JSON object per line: first what NumPy runs on (its BLAS
library, kernel and threads), then each epoch's metrics, tagged with its repeat.

    python3 bench/numpy_trainer.py --dir /usr/share/datasets/fashion-mnist --epochs 10 --repeats 3
"""
import argparse
import ctypes
import gzip
import json
import os
import time

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(directory, name):
    """An IDX file (raw or .gz) as a uint8 array of its shape."""
    path = os.path.join(directory, name)
    opener = open if os.path.exists(path) else gzip.open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def blas_info():
    """Which BLAS NumPy calls, its kernel and its threads: threadpoolctl's answer when it is
    installed, otherwise the same questions asked of the loaded library directly."""
    info = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            info.update(library=p.get("internal_api"), version=p.get("version"),
                        kernel=p.get("architecture"), threads=p.get("num_threads"), path=p.get("filepath"))
            return info
    except ImportError:
        pass
    np.dot(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))  # loads the BLAS
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()})
    paths = [p for p in paths if p.startswith("/") and ".so" in p]
    info["path"] = paths[0] if paths else None
    for path in paths:
        if "openblas" not in path.lower():
            continue
        lib = ctypes.CDLL(path)
        # Symbol names vary: plain, scipy-openblas's "scipy_" prefix, the ILP64 "64_" suffix.
        def call(name, restype):
            for symbol in (name, name + "64_", "scipy_" + name, "scipy_" + name + "64_"):
                fn = getattr(lib, symbol, None)
                if fn is not None:
                    fn.restype = restype
                    return fn()
            return None
        config = call("openblas_get_config", ctypes.c_char_p)
        corename = call("openblas_get_corename", ctypes.c_char_p)
        info.update(library="openblas", version=config.decode().split()[1] if config else None,
                    kernel=corename.decode() if corename else None,
                    threads=call("openblas_get_num_threads", ctypes.c_int), path=path)
        return info
    if paths:
        # Not OpenBLAS: e.g. Debian's reference BLAS (libblas3), single-threaded.
        info.update(library="reference BLAS" if "/blas/" in paths[0] else os.path.basename(paths[0]), threads=1)
    return info


def train(x, y, x_test, y_test, epochs, batch_size, lr, init_std, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, init_std, size=(784, 10)).astype(np.float32)
    b = np.zeros(10, dtype=np.float32)
    n_total = x.shape[0]
    lr = np.float32(lr)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = rng.permutation(n_total)
        loss_sum = 0.0
        correct = 0
        for start in range(0, n_total, batch_size):
            rows = order[start:start + batch_size]
            xb, yb = x[rows], y[rows]
            n = xb.shape[0]
            logits = xb @ w + b  # [n,784]·[784,10] → [n,10]
            top = logits.max(axis=1, keepdims=True)
            exps = np.exp(logits - top)
            total = exps.sum(axis=1, keepdims=True)
            picked = np.arange(n)
            loss_sum += float(np.sum(np.log(total[:, 0]) - (logits[picked, yb] - top[:, 0]), dtype=np.float64))
            correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
            delta = exps / total
            delta[picked, yb] -= 1
            delta /= np.float32(n)
            w -= lr * (xb.T @ delta)  # [784,n]·[n,10] → [784,10]
            b -= lr * delta.sum(axis=0)
        test_acc = float(np.count_nonzero((x_test @ w + b).argmax(axis=1) == y_test)) / x_test.shape[0]
        yield {"epoch": epoch, "trainLoss": loss_sum / n_total, "trainAcc": correct / n_total,
               "testAcc": test_acc, "seconds": time.perf_counter() - started}


class OneLineParser(argparse.ArgumentParser):
    """Refuses a bad argument in one line (exit 2), as every script of this project does."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}; see python3 bench/numpy_trainer.py --help\n")


def main():
    parser = OneLineParser(
        prog="python3 bench/numpy_trainer.py",
        description="The chapter's softmax regression in NumPy (float32), timed epoch by epoch for npm run bench; "
        "prints what NumPy computes with, then one JSON line per epoch.",
    )
    parser.add_argument("--dir", required=True, help="directory with the four Fashion-MNIST files (raw or .gz)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per repeat (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="training runs, seeds seed, seed+1, ... (default 3)")
    parser.add_argument("--batch-size", type=int, default=256, help="minibatch size (default 256)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--init-std", type=float, default=0.01, help="standard deviation of the initial weights (default 0.01)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first repeat (default 1)")
    args = parser.parse_args()
    print(json.dumps({"blas": blas_info()}), flush=True)
    # Converted once, as the chapter's DataLoader hands float tensors to the model.
    x = read_idx(args.dir, FILES["train_images"]).reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = read_idx(args.dir, FILES["train_labels"]).astype(np.int64)
    x_test = read_idx(args.dir, FILES["test_images"]).reshape(-1, 784).astype(np.float32) / np.float32(255)
    y_test = read_idx(args.dir, FILES["test_labels"]).astype(np.int64)
    for repeat in range(args.repeats):
        for metrics in train(x, y, x_test, y_test, args.epochs, args.batch_size, args.lr, args.init_std, args.seed + repeat):
            print(json.dumps({"repeat": repeat, **metrics}), flush=True)


if __name__ == "__main__":
    main()
