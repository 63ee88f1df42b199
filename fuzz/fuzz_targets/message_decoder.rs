//! Fuzzes `shared::robustness::decode_client_message`: see that function for the property.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::robustness::decode_client_message(data));
