//! The ES module web pages import: sio-client's JS API (`js/index.js` on top of it), with a
//! small allocator and a panic handler that traps. Panics cannot happen on network input
//! (every decode is checked); what remains are invariant checks, and trapping on them without
//! formatting a message keeps `core::fmt` and its strings out of the `.wasm`.
//!
//! Built by `scripts/build-client.sh`; Rust front-ends depend on `sio-client` instead.

#![no_std]

// Off the browser (a workspace-wide native build), std supplies the handler and allocator.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

// Links the library and, with it, its `#[wasm_bindgen]` exports.
pub use sio_client;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
