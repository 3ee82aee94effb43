//! greet: a warmcgi module written in Rust, with the standard library
//! only. Mounted under a prefix, PATH_INFO picks what it does:
//!
//!     GET  /greet/hello?name=Ada    a greeting, the time left, a counter
//!     POST /greet/echo              the body back
//!     GET  /greet/panic             a panic, contained: 500 from here
//!
//! What a Rust module has to keep in mind, all shown below:
//!
//! - it is a `cdylib` that exports `main` with the C ABI
//!   (`#[no_mangle] pub extern "C" fn main`); the host calls it once per
//!   request, on the worker's serving thread;
//! - no panic may leave `main`: `catch_unwind` turns it into a 500;
//! - `std::io::stdin()` and `stdout()` are buffered globals that outlive
//!   the request (bytes left in their buffers would reach the next one).
//!   This module reads descriptor 0 and writes descriptor 1 directly,
//!   once, with a `File` that is never closed;
//! - `std::env::var` reads the request's environment: the host replaces
//!   it for every call. Never keep it, or anything of the request, in a
//!   static; a static counter (a cache) is fine;
//! - the `wc_*` calls of warmcgi.h are declared `extern "C"` and resolved
//!   by the host when it loads the module: nothing to link.
use std::env;
use std::fs::File;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::raw::{c_char, c_int};
use std::os::unix::io::FromRawFd;
use std::panic;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

extern "C" {
    fn wc_time_left_ms() -> i64;
    fn wc_log(level: c_int, fmt: *const c_char, ...);
}

const WC_WARNING: c_int = 30;

/// Requests this worker served: state that persists, as a cache would.
static SERVED: AtomicU64 = AtomicU64::new(0);
static HOOK: Once = Once::new();

/// Descriptor n as a File that is never closed.
fn fd(n: i32) -> ManuallyDrop<File> {
    ManuallyDrop::new(unsafe { File::from_raw_fd(n) })
}

fn log_warning(msg: &str) {
    let text = format!("{}\0", msg.replace('\0', " "));
    unsafe { wc_log(WC_WARNING, "%s\0".as_ptr() as *const c_char,
                    text.as_ptr() as *const c_char) };
}

/// A value of the query string (no percent-decoding: an example).
fn query(key: &str) -> Option<String> {
    let qs = env::var("QUERY_STRING").unwrap_or_default();
    qs.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.replace('+', " "))
}

fn read_body() -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    fd(0).read_to_end(&mut body)?;
    Ok(body)
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

fn text(status: &'static str, body: String) -> Response {
    Response { status, content_type: "text/plain; charset=utf-8",
               body: body.into_bytes() }
}

fn serve() -> Response {
    let n = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
    match env::var("PATH_INFO").unwrap_or_default().as_str() {
        "/hello" => {
            let name = query("name").unwrap_or_else(|| "world".into());
            let left = unsafe { wc_time_left_ms() };
            text("200 OK", format!("Hello, {}! ({} ms left; request {} \
                                    of this worker)\n", name, left, n))
        }
        "/echo" => match read_body() {
            Ok(body) => Response { status: "200 OK",
                                   content_type: "application/octet-stream",
                                   body },
            Err(e) => text("500 Internal Server Error", format!("{}\n", e)),
        },
        "/panic" => panic!("asked to panic"),
        other => {
            log_warning(&format!("greet: no such page {}", other));
            text("404 Not Found", "no such page\n".into())
        }
    }
}

/// The entry point the host calls for every request.
#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char,
                       _envp: *const *const c_char) -> c_int {
    // A panic message as one ERROR record of the request's log.
    HOOK.call_once(|| panic::set_hook(Box::new(|info| {
        let msg = info.to_string().replace('\n', " ");
        let _ = writeln!(fd(2), "ERROR: panic: {}", msg);
    })));
    let r = panic::catch_unwind(serve).unwrap_or_else(|_| {
        text("500 Internal Server Error", "internal error\n".into())
    });
    let mut out = format!("Status: {}\r\nContent-Type: {}\r\n\r\n",
                          r.status, r.content_type).into_bytes();
    out.extend_from_slice(&r.body);
    match fd(1).write_all(&out) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
