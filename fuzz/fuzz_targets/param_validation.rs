//! Fuzzes `shared::robustness::validate_parameters`: see that function for the property.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::robustness::validate_parameters(data));
