//! What only the shipped ES module needs (feature `bundle`): a small allocator, and a panic
//! handler that traps. Panics cannot happen on network input (every decode is checked);
//! what remains are invariant checks, and trapping on them without formatting a message
//! keeps `core::fmt` and its strings out of the `.wasm`.

#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
