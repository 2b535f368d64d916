# PlatformIO "pre" extra script of the STM32 projects edgegen generates. Written for edgegen.
# SPDX-License-Identifier: Apache-2.0
#
# PlatformIO runs it before the stm32cube framework script, after it has installed lib_deps
# (`pio run` installs dependencies first, then starts the build). It does two things:
#
# 1. Hard-float ABI everywhere. The stm32cube framework passes only -mcpu and -mthumb, and
#    build_flags reach the compiler but not the linker, so -mfloat-abi=hard there alone would
#    link hard-float objects against the soft-float C library. The board's FPU flags (the
#    project option custom_edgegen_float_flags) go to the compiler, the assembler and the linker.
#    SystemInit() then also enables the FPU (it tests __FPU_USED, which these flags set).
#
# 2. CMSIS-NN's build manifest. ARM-software/CMSIS-NN has no library.json, so PlatformIO writes
#    a bare one on install and would then compile every .c in the repository (its Tests/ and
#    Examples/ too) without Include/ on the path. This adds a "build" section naming Source/ and
#    Include/ to the downloaded copy's manifest, before PlatformIO's library builder reads it.
import json
import os

CMSIS_NN_BUILD = {
    "srcDir": "Source",
    "includeDir": "Include",
    # CMSIS-NN after v7.0.0 also holds float kernels, built by its CMake only when enabled, and
    # Python bindings; the int8 model needs neither
    "srcFilter": ["+<*>", "-<Bindings/>", "-<*/*_f16.c>", "-<*/*_f32.c>", "-<*/*_flt.c>"],
    "flags": ["-std=c99"],
}


def is_cmsis_nn(path):
    return os.path.isfile(os.path.join(path, "Include", "arm_nnfunctions.h")) and os.path.isdir(
        os.path.join(path, "Source")
    )


def find_cmsis_nn(libdeps_dir):
    """The CMSIS-NN copies PlatformIO installed for this environment."""
    if not os.path.isdir(libdeps_dir):
        return []
    found = []
    for name in sorted(os.listdir(libdeps_dir)):
        path = os.path.join(libdeps_dir, name)
        if os.path.isdir(path) and is_cmsis_nn(path):
            found.append(path)
    return found


def patch_manifest(lib_dir):
    """Adds CMSIS_NN_BUILD to lib_dir/library.json; returns True when the file changed."""
    manifest_path = os.path.join(lib_dir, "library.json")
    manifest = {}
    if os.path.isfile(manifest_path):
        with open(manifest_path, encoding="utf-8") as fp:
            manifest = json.load(fp)
    if manifest.get("build") == CMSIS_NN_BUILD:
        return False
    manifest.setdefault("name", "CMSIS-NN")
    manifest.setdefault("version", "0.0.0")
    manifest["build"] = CMSIS_NN_BUILD
    with open(manifest_path, "w", encoding="utf-8") as fp:
        json.dump(manifest, fp, indent=2)
        fp.write("\n")
    return True


def wants_cmsis_nn(lib_deps):
    return any(str(dep).strip().lower().startswith("cmsis-nn") for dep in lib_deps)


def configure(env):
    flags = str(env.GetProjectOption("custom_edgegen_float_flags", "")).split()
    if flags:
        env.Append(CCFLAGS=flags, ASFLAGS=flags, LINKFLAGS=flags)

    if not wants_cmsis_nn(env.GetProjectOption("lib_deps", [])):
        return
    libdeps_dir = os.path.join(env.subst("$PROJECT_LIBDEPS_DIR"), env.subst("$PIOENV"))
    copies = find_cmsis_nn(libdeps_dir)
    if not copies:
        print("edgegen: error: lib_deps names CMSIS-NN but no copy with Include/arm_nnfunctions.h is in "
              + libdeps_dir + "; run `pio pkg install -d . -e " + env.subst("$PIOENV") + "` and check its output")
        env.Exit(1)
    for path in copies:
        if patch_manifest(path):
            print("edgegen: CMSIS-NN build manifest written to " + os.path.join(path, "library.json"))


# SCons executes this file with Import() among its globals; a plain import (the tests) does not.
if "Import" in globals():
    Import("env")  # noqa: F821 - provided by SCons
    configure(env)  # noqa: F821
