#!/usr/bin/env python3
"""The layout's boundaries, kept by the build (CTest `include_boundaries`).

Each folder may include only what its row below allows (project headers, by their path under src/
or include/): planning never sees kernels, the runtime or CUDA; kernels never see the runtime;
the public headers only each other; the CLI only the public API and its own files. It also
compiles every planning source with a C++ compiler that has no CUDA include path: planning
builds without CUDA headers.

    check_boundaries.py REPOSITORY_ROOT BUILD_INCLUDE_DIR CXX

Exit status 0 when every include is allowed and the planning sources compile, else 1 with one
line per violation.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# Project folders each folder may include ("detail" excludes detail/cuda_check.h where noted).
ALLOWED = {
    "include/sepconv": {"sepconv"},
    "src/core": {"sepconv", "detail"},
    "src/detail": {"sepconv", "detail"},
    "src/reference": {"sepconv", "detail"},
    "src/plan": {"sepconv", "detail", "plan"},
    "src/kernels": {"sepconv", "detail", "plan", "kernels", "emulator", "sim"},
    "src/emulator": {"sepconv", "detail", "kernels", "emulator"},
    "src/sim": {"sepconv", "detail", "plan", "kernels", "emulator", "sim"},
    "src/runtime": {"sepconv", "detail", "plan", "kernels", "runtime", "training"},
    "src/training": {"sepconv", "detail", "training"},
    "tools/cli": {"sepconv"},
    # Keras model files (sepconv_keras): the public API and its own files, no CUDA.
    "src/keras": {"sepconv", "keras"},
}
# Headers a folder may not include although their folder is allowed.
FORBIDDEN = {
    "src/plan": {"detail/cuda_check.h"},
    "src/core": {"detail/cuda_check.h"},
    "src/reference": {"detail/cuda_check.h"},
    "src/training": {"detail/cuda_check.h"},
}
# System headers that bring CUDA in.
CUDA_SYSTEM = re.compile(r"^(cuda|cublas|cub/|nvtx|library_types|driver_types|vector_types)")
NO_CUDA = {"include/sepconv", "src/core", "src/reference", "src/plan", "src/training", "src/keras"}
# The public GPU API names cudaStream_t.
CUDA_ALLOWED = {"include/sepconv/layer.h", "include/sepconv/training_gpu.h"}
SOURCE = re.compile(r"\.(h|hpp|cpp|cu|cuh)$")


def folder_of(rel):
    for folder in sorted(ALLOWED, key=len, reverse=True):
        if rel == folder or rel.startswith(folder + "/"):
            return folder
    return None


def main():
    root, build_include, cxx = sys.argv[1], sys.argv[2], sys.argv[3]
    problems = []
    for top in ("include", "src", "tools"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not SOURCE.search(name):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                folder = folder_of(os.path.dirname(rel))
                if folder is None:
                    continue
                text = open(path, encoding="utf-8").read()
                for kind, target in INCLUDE.findall(text):
                    if kind == "<":
                        if folder in NO_CUDA and rel not in CUDA_ALLOWED and CUDA_SYSTEM.match(target):
                            problems.append(f"{rel}: includes <{target}>: {folder} is built without CUDA headers")
                        continue
                    if folder == "tools/cli":
                        own = os.path.exists(os.path.join(root, "tools/cli", target)) or \
                              os.path.exists(os.path.join(os.path.dirname(path), target))
                        if own:
                            continue
                    top_folder = target.split("/")[0] if "/" in target else None
                    if top_folder is None:
                        if os.path.exists(os.path.join(os.path.dirname(path), target)):
                            continue  # a header beside it
                        problems.append(f"{rel}: includes \"{target}\", neither beside it nor under a folder")
                        continue
                    if top_folder not in ALLOWED[folder]:
                        problems.append(f"{rel}: includes \"{target}\": {folder} may include only {sorted(ALLOWED[folder])}")
                    elif target in FORBIDDEN.get(folder, set()):
                        problems.append(f"{rel}: includes \"{target}\", which {folder} may not")
    # Planning compiles without CUDA's include path.
    plan_dir = os.path.join(root, "src/plan")
    for name in sorted(os.listdir(plan_dir)):
        if not name.endswith(".cpp"):
            continue
        result = subprocess.run(
            [cxx, "-std=c++17", "-fsyntax-only", "-I", os.path.join(root, "src"),
             "-I", os.path.join(root, "include"), "-I", build_include, os.path.join(plan_dir, name)],
            capture_output=True, text=True)
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["?"])[0]
            problems.append(f"src/plan/{name}: does not compile without CUDA headers: {first}")
    for p in problems:
        print("boundary violation:", p)
    print(f"include boundaries: {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
