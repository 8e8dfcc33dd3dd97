#!/usr/bin/env bash
# What a user of the published crate gets, checked as they would meet it:
#
#   1. the package holds exactly the intended files (the `include` list in
#      Cargo.toml), and its Rust tests build from the package alone;
#   2. `cargo publish --dry-run` passes with no warning;
#   3. the docs.rs build (nightly, `--cfg docsrs`, every target docs.rs
#      builds) passes with no warning and marks feature-gated items;
#   4. the minimum supported Rust version (`rust-version`) builds the library
#      with each feature set;
#   5. a target other than Linux or Android stops at the crate's own
#      compile_error!, not deep inside rustix;
#   6. features are additive (tests/features.rs, without and with them).
#
# Installs the toolchains it needs with rustup (idempotent). Needs no network
# beyond rustup's and crates.io's. Exits non-zero on any failure.
#
#   ci/package.sh            all of the above
#   ci/package.sh STEP...    some of: list publish docs msrv unsupported features
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

CRATE=named-semaphores
MSRV=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$MSRV" ] && [ -n "$VERSION" ] || fail "rust-version or version not found in Cargo.toml"

ensure_toolchain() {
    local tc=$1
    rustup toolchain list | grep -q "^$tc" || rustup toolchain install "$tc" --profile minimal
}

# ------------------------------------------------------------------ list --

# The files the package must hold: every tracked file the `include` list
# names, plus what cargo adds itself.
expected_files() {
    {
        git ls-files -- 'src/*.rs' 'examples/*.rs' 'tests/*.rs' 'benches/vs_glibc/*.rs' 'docs/*.md'
        printf '%s\n' Cargo.toml README.md CHANGELOG.md \
            LICENSE-MIT LICENSE-APACHE Cargo.toml.orig Cargo.lock .cargo_vcs_info.json
    } | LC_ALL=C sort -u
}

check_list() {
    step "package contents"
    local listed
    listed=$(cargo package --list -p "$CRATE" | LC_ALL=C sort)
    echo "$listed"
    # Never shipped: CI, the C library and C peers, fuzz and no-libc trees,
    # the size benchmark.
    if grep -E '^(\.ci|ci|capi|fuzz|nolibc|benches/size)/|\.(c|h|sh)$' <<<"$listed"; then
        fail "the package holds repository-only files (above)"
    fi
    diff -u <(expected_files) <(echo "$listed") || fail "package contents differ from the include list"
    for f in LICENSE-MIT LICENSE-APACHE README.md CHANGELOG.md src/lib.rs; do
        grep -qx "$f" <<<"$listed" || fail "$f missing from the package"
    done
}

# --------------------------------------------------------------- publish --

check_publish() {
    step "cargo publish --dry-run"
    local out
    # No --allow-dirty: on a clean clone, a tracked file changed by an earlier
    # step is itself a failure worth seeing.
    out=$(cargo publish --dry-run --locked -p "$CRATE" 2>&1) || {
        echo "$out"
        fail "cargo publish --dry-run"
    }
    echo "$out" | grep -v '^ *Compiling '
    # The one warning a dry run always prints is that it does not upload.
    if grep '^warning' <<<"$out" | grep -v 'aborting upload due to dry run'; then
        fail "cargo publish --dry-run warns (above)"
    fi

    step "the package's own tests build from the package alone"
    local crate=target/package/$CRATE-$VERSION.crate unpacked
    cargo package --locked --no-verify -p "$CRATE"
    [ -f "$crate" ] || fail "$crate not found"
    # Outside the repository, so that no workspace above it is found.
    unpacked=$(mktemp -d)
    tar -xzf "$crate" -C "$unpacked"
    CARGO_TARGET_DIR=$ROOT/target/package-check \
        cargo check --locked --all-targets --all-features \
        --manifest-path "$unpacked/$CRATE-$VERSION/Cargo.toml"
    rm -rf "$unpacked"
}

# ------------------------------------------------------------------ docs --

# docs.rs: nightly rustdoc with `--cfg docsrs`, every feature, each target
# listed in [package.metadata.docs.rs] (the foreign ones with -Zbuild-std).
check_docs() {
    ensure_toolchain nightly
    rustup component add --toolchain nightly rust-src
    local targets t host
    host=$(rustc +nightly -vV | sed -n 's/^host: //p')
    targets=$(sed -n 's/^targets = \[\(.*\)\]$/\1/p' Cargo.toml | tr -d '",')
    [ -n "$targets" ] || fail "no docs.rs targets in Cargo.toml"
    for t in $targets; do
        step "docs.rs build for $t"
        local build_std=()
        [ "$t" = "$host" ] || build_std=(-Zbuild-std)
        RUSTDOCFLAGS="--cfg docsrs -D warnings" CARGO_TARGET_DIR=target/docsrs \
            cargo +nightly doc --locked --no-deps --all-features "${build_std[@]}" --target "$t"
        # Feature-gated items say which feature they need.
        grep -q 'crate feature <code>alloc</code>' \
            "target/docsrs/$t/doc/named_semaphores/fn.list_all.html" ||
            fail "$t: list_all is not marked as needing the alloc feature"
    done
}

# ------------------------------------------------------------------ msrv --

check_msrv() {
    step "minimum supported Rust version $MSRV: the library and the nsem tool"
    ensure_toolchain "$MSRV"
    local features
    for features in "" "--features alloc" "--features std"; do
        echo "-- cargo +$MSRV build --lib $features"
        # shellcheck disable=SC2086 # word splitting of the feature flag is intended
        CARGO_TARGET_DIR=target/msrv cargo "+$MSRV" build --locked --lib $features
    done
    CARGO_TARGET_DIR=target/msrv cargo "+$MSRV" build --locked -p nsem
}

# ----------------------------------------------------------- unsupported --

# A target outside Linux and Android: FreeBSD, whose core library nightly
# builds from source (no target download needed). The first error must be
# the crate's own.
check_unsupported() {
    step "unsupported target: x86_64-unknown-freebsd stops at the crate's compile_error!"
    ensure_toolchain nightly
    rustup component add --toolchain nightly rust-src
    local out first
    if out=$(CARGO_TARGET_DIR=target/unsupported cargo +nightly check --locked --lib \
        -Zbuild-std=core --target x86_64-unknown-freebsd 2>&1); then
        echo "$out"
        fail "the crate compiled for FreeBSD"
    fi
    first=$(grep -m 1 '^error' <<<"$out" || true)
    echo "first error: $first"
    case "$first" in
    "error: named-semaphores supports only Linux and Android targets"*) ;;
    *)
        echo "$out"
        fail "the first error is not the crate's compile_error!"
        ;;
    esac
}

# -------------------------------------------------------------- features --

check_features() {
    step "features are additive (tests/features.rs without and with features)"
    cargo test --locked --test features
    cargo test --locked --test features --all-features
}

# ------------------------------------------------------------------ main --

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(list publish docs msrv unsupported features)
for s in "${steps[@]}"; do
    case "$s" in
    list) check_list ;;
    publish) check_publish ;;
    docs) check_docs ;;
    msrv) check_msrv ;;
    unsupported) check_unsupported ;;
    features) check_features ;;
    *) fail "unknown step $s (list publish docs msrv unsupported features)" ;;
    esac
done
echo "package checks passed: ${steps[*]}"
