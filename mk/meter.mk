# SPDX-License-Identifier: GPL-2.0-or-later
# The usage meter: body decoding, SSE splitting, per-provider extractors.
src_libagp_a_SOURCES += \
	src/meter/meter.c src/meter/meter.h \
	src/meter/sse.c src/meter/sse.h \
	src/meter/jstream.c src/meter/jstream.h \
	src/meter/prune.c src/meter/prune.h src/meter/pruned.c \
	src/meter/prune_scan.c src/meter/prune_scan.h \
	src/meter/decode.c src/meter/decode.h \
	src/meter/extract.c src/meter/extract.h \
	src/meter/extract_provider.c src/meter/extract_provider.h \
	src/meter/jhelp.c src/meter/jhelp.h \
	src/meter/google.c src/meter/google.h \
	src/meter/anthropic.c src/meter/anthropic.h \
	src/meter/openai.c src/meter/openai.h \
	src/meter/ws.c src/meter/ws.h src/meter/wsmeter.c src/meter/wsmeter.h

check_PROGRAMS += tests/unit/test_sse tests/unit/test_meter \
	tests/unit/test_prune tests/unit/test_ws
tests_unit_test_sse_SOURCES = tests/unit/test_sse.c tests/unit/tap.h
tests_unit_test_sse_LDADD = $(AGP_LIBS)
tests_unit_test_meter_SOURCES = tests/unit/test_meter.c tests/unit/tap.h
tests_unit_test_meter_LDADD = $(AGP_LIBS) $(BROTLIENC_LIBS)
tests_unit_test_prune_SOURCES = tests/unit/test_prune.c tests/unit/tap.h \
	tests/unit/pruned_same.h
tests_unit_test_prune_LDADD = $(AGP_LIBS)
tests_unit_test_ws_SOURCES = tests/unit/test_ws.c tests/unit/tap.h
tests_unit_test_ws_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_sse tests/unit/test_meter tests/unit/test_prune \
	tests/unit/test_ws

check_PROGRAMS += fuzz/replay-sse fuzz/replay-meter fuzz/replay-prune \
	fuzz/replay-ws
fuzz_replay_sse_SOURCES = fuzz/replay.c fuzz/fuzz_sse.c
fuzz_replay_sse_LDADD = $(AGP_LIBS)
fuzz_replay_meter_SOURCES = fuzz/replay.c fuzz/fuzz_meter.c
fuzz_replay_meter_LDADD = $(AGP_LIBS)
fuzz_replay_prune_SOURCES = fuzz/replay.c fuzz/fuzz_prune.c \
	tests/unit/pruned_same.h
fuzz_replay_prune_LDADD = $(AGP_LIBS)
fuzz_replay_ws_SOURCES = fuzz/replay.c fuzz/fuzz_ws.c
fuzz_replay_ws_LDADD = $(AGP_LIBS)
TESTS += fuzz/replay-sse fuzz/replay-meter fuzz/replay-prune fuzz/replay-ws

METER_FIXTURES = \
	tests/fixtures/README.txt tests/fixtures/expected.json \
	tests/fixtures/splits.json tests/fixtures/verify.py \
	tests/fixtures/anthropic.json tests/fixtures/anthropic_stream.sse \
	tests/fixtures/anthropic_stream_error.sse \
	tests/fixtures/anthropic_stream_mixed_eol.sse \
	tests/fixtures/cloudcode.json tests/fixtures/cloudcode_request.json \
	tests/fixtures/cloudcode_stream.sse \
	tests/fixtures/cloudcode_trailing_usage.sse \
	tests/fixtures/gemini_public.json \
	tests/fixtures/gemini_public_stream.sse \
	tests/fixtures/gemini_public_stream_array.json \
	tests/fixtures/gemini_stream_growing_usage.sse \
	tests/fixtures/openai_chat.json tests/fixtures/openai_chat_stream.sse \
	tests/fixtures/openai_chat_stream_crlf.sse \
	tests/fixtures/openai_responses.json \
	tests/fixtures/openai_responses_stream.sse \
	tests/fixtures/sse_comments_multiline.sse
EXTRA_DIST += $(METER_FIXTURES) doc/usage-format.md \
	fuzz/corpus/sse/bom_cr fuzz/corpus/sse/comments_multiline \
	fuzz/corpus/sse/crlf_small_bound fuzz/corpus/sse/mixed_eol \
	fuzz/corpus/sse/repeats fuzz/corpus/sse/repeats_chunked \
	fuzz/corpus/meter/matched_gemini fuzz/corpus/meter/matched_gemini_4k \
	fuzz/corpus/meter/anthropic_json_sniff fuzz/corpus/meter/anthropic_sse \
	fuzz/corpus/meter/chat_deflate fuzz/corpus/meter/cloudcode_sniff \
	fuzz/corpus/meter/gemini_array_json fuzz/corpus/meter/gemini_zstd \
	fuzz/corpus/meter/responses_gzip fuzz/corpus/meter/coalesce_gemini \
	fuzz/corpus/meter/coalesce_anthropic \
	fuzz/corpus/meter/coalesce_gemini_array \
	fuzz/corpus/prune/escapes_at_cut fuzz/corpus/prune/surrogate_at_cut \
	fuzz/corpus/prune/alike_cloudcode fuzz/corpus/prune/alike_chat \
	fuzz/corpus/prune/alike_raw \
	fuzz/corpus/ws/bad_cont fuzz/corpus/ws/bad_ext fuzz/corpus/ws/bad_rsv2 \
	fuzz/corpus/ws/client_masked fuzz/corpus/ws/deflate_reset_window9 \
	fuzz/corpus/ws/deflate_takeover fuzz/corpus/ws/lengths \
	fuzz/corpus/ws/server_fragments_ping fuzz/corpus/ws/small_limit_drop \
	fuzz/corpus/ws/control_over_small_limit
