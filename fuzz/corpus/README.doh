Seed corpus of fuzz/fuzz_doh.c (the DoH client's HTTP/2 response path,
src/dns_h2.c), all synthetic, written by fuzz/corpus/mkdoh.py (run it from
the source tree to regenerate). Each seed is fuzz_doh's control byte, its
chunk sizes, then the bytes a server sends: SETTINGS first, then responses
to the client's streams 1, 3, 5 and 7 (HPACK from the static table and
literals only). What they cover:

three_out_of_order, three_split_*   answers in any order, fed whole, 7 bytes
        at a time, or in uneven chunks
cancel_second, cancel_oldest        a stream let go before, or after, its
        answer came: it never comes out
status_404, status_500_dns_type, wrong_ctype, no_body
        responses sluice refuses (-EPROTO)
ctype_params, content_length, informational_103, trailers, continuation,
padded, body_in_pieces, ping_winup_unknown
        responses it takes, however they are framed
content_length_wrong                nghttp2 resets the stream (-ECONNRESET)
body_too_big, headers_too_big       over 65,535 bytes of body, over 16 KiB of
        headers (-EMSGSIZE)
goaway_after_1, goaway_error, rst_refused
        refused streams (-EAGAIN: safe to ask again) and resets
max_streams_1                       the server allows one stream at a time
push_promise, data_before_headers, unknown_stream, no_settings, http1
        protocol errors: the session ends, nothing comes out
four_requests                       four streams, one refused by status
