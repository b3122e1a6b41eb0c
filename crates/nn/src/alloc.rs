//! The allocator training runs with. Training allocates and frees tensors of hundreds of MB
//! every step (a LoRA step's logits over Gemma's 262k-token vocabulary); glibc returns each to
//! the kernel and pays page clearing on the next, mimalloc (v3, the crate's default) keeps and
//! reuses them. Binaries that train declare
//! `#[global_allocator] static ALLOCATOR: signscope_nn::alloc::MiMalloc = signscope_nn::alloc::MiMalloc;`
//! and call [`keep_freed_memory`] before training; the recognizer bench does the same, so it
//! times the step as `signscope train` runs it.

pub use mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's option setter (mimalloc.h); linked in by the mimalloc crate.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Keeps freed memory instead of handing it back after mimalloc's purge delay (1000 ms in v3,
/// 10 ms in v2): a LoRA step frees and reallocates GBs within the step, and with purging on,
/// the kernel's page clearing took as long as with glibc (12.8 s/step; without purging
/// 8.4 s/step, 3,111 minor faults). Peak RSS is what the step needs anyway.
pub fn keep_freed_memory() {
    // SAFETY: sets a process-wide allocator option; takes plain integers, no pointers.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// mimalloc's current purge delay in ms (-1: never purge).
pub fn purge_delay() -> i64 {
    // SAFETY: reads a process-wide allocator option; integers only.
    unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test binary does not use mimalloc as its allocator, but the options live in the
    // linked library all the same.
    /// The option index is hand-copied from mimalloc.h; if a mimalloc update renumbers the
    /// enum, this sees another option's default (eager_commit_delay = 1, use_numa_nodes = 0)
    /// instead of purge_delay's (1000 ms in mimalloc v3, 10 ms in v2).
    #[test]
    fn purge_delay_is_the_option_we_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the user's own setting replaces the default
        }
        let default = purge_delay();
        assert!(default == 1000 || default == 10, "option 15 is {default}");
        keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }
}
