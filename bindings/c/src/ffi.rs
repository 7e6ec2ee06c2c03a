//! The plumbing every entry point shares: the panic boundary, handle casts, string
//! arguments in, strings out.

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{pushbus_result, set_last_error, Failure};

/// Ties an opaque C handle type to the Rust value behind it and to how it is owned, so
/// that a cast to the wrong Rust type does not compile (the rustls-ffi pattern).
pub(crate) trait Castable {
    /// How the C side holds the value; every pushbus handle is a `Box` today.
    type Ownership;
    type RustType;
}

/// The handle is a `Box<RustType>` given to C by `_new` and taken back by `_free`.
pub(crate) struct OwnershipBox;

/// Gives `value` to C as a `*mut C` that `free_box` takes back.
pub(crate) fn to_boxed_ptr<C: Castable<Ownership = OwnershipBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// Takes back a handle made by `to_boxed_ptr`; NULL gives `None`.
///
/// # Safety
/// `ptr` is NULL or came from `to_boxed_ptr::<C>` and was not freed yet.
pub(crate) unsafe fn free_box<C: Castable<Ownership = OwnershipBox>>(
    ptr: *mut C,
) -> Option<Box<C::RustType>> {
    if ptr.is_null() {
        None
    } else {
        Some(Box::from_raw(ptr.cast::<C::RustType>()))
    }
}

/// Borrows the value behind a handle.
///
/// # Safety
/// `ptr` is NULL or a live handle made by `to_boxed_ptr::<C>`.
pub(crate) unsafe fn try_ref<'a, C: Castable>(
    ptr: *const C,
    name: &str,
) -> Result<&'a C::RustType, Failure> {
    ptr.cast::<C::RustType>()
        .as_ref()
        .ok_or_else(|| null_parameter(name))
}

pub(crate) fn null_parameter(name: &str) -> Failure {
    Failure::new(
        pushbus_result::NullParameter,
        format!("argument `{name}` is NULL"),
    )
}

/// Runs an entry point's body: a panic becomes `PUSHBUS_RESULT_PANIC`, a failure sets
/// the thread's last error message. Never unwinds into C.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> pushbus_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => pushbus_result::Ok,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.code
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("unknown panic");
            set_last_error(&format!("internal error (panic): {what}"));
            pushbus_result::Panic
        }
    }
}

/// For entry points that return nothing (`_free`): runs `body`, swallowing a panic.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// A string passed as pointer and length, for arrays and structs of strings. `data`
/// need not be NUL-terminated; it must be valid UTF-8.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pushbus_str {
    /// The first byte; NULL only where a field says the string is optional.
    pub data: *const c_char,
    /// Length in bytes, without any terminating NUL.
    pub len: usize,
}

/// Borrows the bytes `ptr[0..len]`. NULL is refused even when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(null_parameter(name));
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            pushbus_result::InvalidArgument,
            format!("argument `{name}`: length {len} is too large"),
        ));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// Borrows the UTF-8 string `ptr[0..len]`. NULL is refused.
///
/// # Safety
/// As for [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    let bytes = bytes_arg(ptr.cast(), len, name)?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            pushbus_result::InvalidUtf8,
            format!(
                "argument `{name}` is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Like [`str_arg`], but NULL means "absent".
///
/// # Safety
/// As for [`bytes_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        str_arg(ptr, len, name).map(Some)
    }
}

/// Reads an array of `pushbus_str` as owned strings. `count` may be 0 with a NULL `ptr`.
///
/// # Safety
/// `ptr` is NULL or points to `count` readable `pushbus_str`, each valid for
/// [`str_arg`].
pub(crate) unsafe fn str_array_arg(
    ptr: *const pushbus_str,
    count: usize,
    name: &str,
) -> Result<Vec<String>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let items = slice_arg(ptr, count, name)?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| str_arg(s.data, s.len, &format!("{name}[{i}]")).map(str::to_owned))
        .collect()
}

/// Borrows the array `ptr[0..count]`; NULL is refused unless `count` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `count` readable `T` that outlive `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    count: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_parameter(name));
    }
    if count > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Failure::new(
            pushbus_result::InvalidArgument,
            format!("argument `{name}`: {count} items is too many"),
        ));
    }
    Ok(std::slice::from_raw_parts(ptr, count))
}

/// An out-parameter checked to be non-NULL before any work; written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub fn new(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
        if ptr.is_null() {
            Err(null_parameter(name))
        } else {
            Ok(Out(ptr))
        }
    }

    /// Like [`Out::new`], but NULL means "not wanted".
    pub fn optional(ptr: *mut T) -> Option<Out<T>> {
        (!ptr.is_null()).then_some(Out(ptr))
    }

    /// # Safety
    /// The pointer given to `new` is valid for a write of `T`.
    pub unsafe fn write(self, value: T) {
        self.0.write(value);
    }
}

/// Turns a result string into a NUL-terminated string that C frees with
/// `pushbus_string_free`. Interior NUL bytes (never produced by signatures or JSON)
/// are refused rather than silently truncated.
pub(crate) fn to_c_string(s: String) -> Result<*mut c_char, Failure> {
    CString::new(s).map(CString::into_raw).map_err(|_| {
        Failure::new(
            pushbus_result::InvalidArgument,
            "the result contains a NUL byte",
        )
    })
}

/// Frees a string returned by a `pushbus_*` function through a `char **` out-param.
///
/// Takes ownership of `s`. `NULL` is a no-op. Only strings allocated by this library
/// may be passed. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_string_free(s: *mut c_char) {
    guard_void(|| {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_a_code() {
        let r = guard(|| panic!("boom"));
        assert_eq!(r, pushbus_result::Panic);
        let msg = unsafe { std::ffi::CStr::from_ptr(crate::error::pushbus_last_error_message()) };
        assert_eq!(msg.to_str().unwrap(), "internal error (panic): boom");
    }

    #[test]
    fn string_arguments_are_checked() {
        let bad = [b'a', 0xff];
        let e = unsafe { str_arg(bad.as_ptr().cast(), 2, "x") }.unwrap_err();
        assert_eq!(e.code, pushbus_result::InvalidUtf8);
        let e = unsafe { str_arg(std::ptr::null(), 0, "x") }.unwrap_err();
        assert_eq!(e.code, pushbus_result::NullParameter);
        assert_eq!(
            unsafe { opt_str_arg(std::ptr::null(), 5, "x") }.unwrap(),
            None
        );
        let ok = unsafe { str_arg(bad.as_ptr().cast(), 1, "x") }.unwrap();
        assert_eq!(ok, "a");
    }
}
