//! Fuzzes `shared::robustness::reassemble_server_messages`: see that function for the property.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::robustness::reassemble_server_messages(data));
