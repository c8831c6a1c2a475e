#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sio_fuzz::msgpack_packet(data));
