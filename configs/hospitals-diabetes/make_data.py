#!/usr/bin/python3
"""Writes the three hospitals' files of configs/hospitals-diabetes-3p.yaml.

A replica of the classic three-hospital experiment (python-paillier's
federated_learning_with_encryption.py): scikit-learn's diabetes data (442 rows,
10 features, as load_diabetes returns them), rows permuted with
np.random.seed(42); np.random.permutation(442), then 50 test rows drawn with
np.random.choice(442, 50, replace=False) from the same generator; the other 392
rows, in order, cut into three contiguous slices of 130 (the last two rows are
left out, as in the original).

Run once with Debian's python3-numpy and python3-sklearn
(apt-get install python3-numpy python3-sklearn):
    /usr/bin/python3 configs/hospitals-diabetes/make_data.py
Tessera itself never needs Python; the files it writes are committed.
"""
import os

import numpy as np
from sklearn.datasets import load_diabetes

HERE = os.path.dirname(os.path.abspath(__file__))
HOSPITALS = 3
TEST_ROWS = 50


def write(name, x, y, columns):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join(columns + ["progression"]) + "\n")
        for row, target in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + "," + repr(float(target)) + "\n")


def main():
    data = load_diabetes()
    x, y = data.data, data.target
    np.random.seed(42)
    perm = np.random.permutation(x.shape[0])
    x, y = x[perm, :], y[perm]
    test_idx = np.random.choice(x.shape[0], size=TEST_ROWS, replace=False)
    train = np.ones(x.shape[0], dtype=bool)
    train[test_idx] = False
    columns = list(data.feature_names)
    write("test.csv", x[test_idx, :], y[test_idx], columns)
    x_train, y_train = x[train, :], y[train]
    step = x_train.shape[0] // HOSPITALS
    for h in range(HOSPITALS):
        rows = slice(step * h, step * (h + 1))
        write("hospital%d.csv" % h, x_train[rows, :], y_train[rows], columns)


if __name__ == "__main__":
    main()
