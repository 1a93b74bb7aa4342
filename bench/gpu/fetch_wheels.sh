#!/bin/sh
# Fetches, into the git-ignored folder .gpu-carry/wheels of the repository, the
# wheels the GPU machine lacks (its python3 is 3.12; it cannot download), at the
# versions this project's venv tests with. Run from the repository root.
set -e
mkdir -p .gpu-carry/wheels
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo /.gpu-carry/ >> .git/info/exclude
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d .gpu-carry/wheels \
    dask==2026.8.0 distributed==2026.8.0 zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 \
    google-crc32c==1.9.0 partd==1.4.2 locket==1.0.0 tblib==3.2.2 zict==3.0.0 \
    tornado==6.6.1 pkgconfig==1.5.5
du -sh .gpu-carry
