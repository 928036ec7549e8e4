//! `sqlx::migrate!` (api/src/startup.rs) embeds the files of `migrations/` at compile time, but
//! the compiler only tracks the files it included: a newly added migration would not rebuild the
//! binary, which would then start without it. Rebuild whenever the folder changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
