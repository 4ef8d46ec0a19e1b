// What Fashion-MNIST is, apart from where it lives: its classes, its four IDX files and their
// counts. Imports nothing, so that the browser trainer's bundle shares it with the service.

// The ten classes in label order (Xiao et al. 2017; the chapter's get_fashion_mnist_labels).
export const CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export const TRAIN_COUNT = 60000;
export const TEST_COUNT = 10000;
