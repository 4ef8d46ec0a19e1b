// Debian's Python, which has python3-numpy and python3-onnx (.ci/run installs them); the
// `python3` first on PATH may be another one without them.
export const DEBIAN_PYTHON = '/usr/bin/python3';
