//! Restricts the symbols exported by `libpushbus.so` to the C API (`pushbus_*`) and gives
//! it a versioned SONAME, so that programs linked against one ABI never load another.

fn main() {
    let map =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("pushbus.map");
    println!("cargo:rerun-if-changed={}", map.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            map.display()
        );
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{}", soname());
    }
}

/// `libpushbus.so.MAJOR`, or `libpushbus.so.0.MINOR` before 1.0, where (as in Cargo's
/// semver) every minor release may break the ABI. `bindings/c/Makefile` installs the
/// file as `libpushbus.so.VERSION` with this name and `libpushbus.so` as links to it.
fn soname() -> String {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    if major == "0" {
        format!("libpushbus.so.0.{minor}")
    } else {
        format!("libpushbus.so.{major}")
    }
}
