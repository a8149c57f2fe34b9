#!/usr/bin/env python3
"""compare_png.py A.png B.png MAX_MEAN MAX_PEAK: the per-channel difference of two 8-bit images.

Prints one line: mean and largest absolute difference in levels, and the share of values that
differ; exits 0 when mean <= MAX_MEAN and largest <= MAX_PEAK, 1 otherwise (2 on unreadable or
mismatched images). Used by gpu_check.sh for the tiny-kit image on cuda against the cpu one."""
import sys

import numpy as np
from PIL import Image


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    try:
        a = np.asarray(Image.open(sys.argv[1]).convert("RGB"), dtype=np.int16)
        b = np.asarray(Image.open(sys.argv[2]).convert("RGB"), dtype=np.int16)
    except OSError as e:
        print("unreadable: %s" % e)
        return 2
    if a.shape != b.shape:
        print("shapes differ: %s vs %s" % (a.shape, b.shape))
        return 2
    d = np.abs(a - b)
    mean, peak, share = float(d.mean()), int(d.max()), float((d > 0).mean())
    ok = mean <= float(sys.argv[3]) and peak <= int(sys.argv[4])
    print("%s: mean %.3f levels (limit %s), largest %d (limit %s), %.1f%% of values differ"
          % ("PASS" if ok else "FAIL", mean, sys.argv[3], peak, sys.argv[4], 100 * share))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
