// format/dump.hpp: bpftool's raw dump of BTF (`bpftool btf dump file F`) into any sink; the expected
// text is what bpftool 7.1 prints for the same blob (test_dump compares with bpftool itself).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/dump.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

blob_builder dump_blob() {
    blob_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);                                   // 1
    const auto c = b.add_int("char", 1, int_char);                                    // 2
    const auto p = b.add_ref(kind::ptr, "", c);                                       // 3
    b.add_struct("s", 8, true, {{"a", i, 0, 0}, {"b", i, 32, 3}});                     // 4
    b.add_enum("e", 4, true, {{"NEG", static_cast<std::uint64_t>(-1)}, {"POS", 2}});  // 5
    const auto fp = b.add_func_proto(i, {{"x", i}, {"", p}});                         // 6
    b.add_ref(kind::func, "f", fp, 1);                                                // 7
    b.add_array(c, i, 16);                                                            // 8
    b.add_fwd("u", true);                                                             // 9
    b.add_ref(kind::typedef_, "cp", p);                                               // 10
    return b;
}

constexpr std::string_view bpftool_text =
    "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
    "[2] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR\n"
    "[3] PTR '(anon)' type_id=2\n"
    "[4] STRUCT 's' size=8 vlen=2\n"
    "\t'a' type_id=1 bits_offset=0\n"
    "\t'b' type_id=1 bits_offset=32 bitfield_size=3\n"
    "[5] ENUM 'e' encoding=SIGNED size=4 vlen=2\n"
    "\t'NEG' val=-1\n"
    "\t'POS' val=2\n"
    "[6] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2\n"
    "\t'x' type_id=1\n"
    "\t'(anon)' type_id=3\n"
    "[7] FUNC 'f' type_id=6 linkage=global\n"
    "[8] ARRAY '(anon)' type_id=2 index_type_id=1 nr_elems=16\n"
    "[9] FWD 'u' fwd_kind=union\n"
    "[10] TYPEDEF 'cp' type_id=3\n";

// A sink that counts its appends: the dump hands over whole chunks, not lines.
struct counting_sink {
    std::string text;
    int appends = 0;
    void append(const char* p, std::size_t n) {
        text.append(p, n);
        ++appends;
    }
};

}  // namespace

TEST_CASE("dump_raw: bpftool's text for every kind here, in either byte order") {
    for (const byte_order order : {byte_order::little, byte_order::big}) {
        blob_builder bb = dump_blob();
        const auto bytes = bb.builder().encode(order);
        REQUIRE(bytes.has_value());
        auto b = btf::parse(byte_span(bytes->data(), bytes->size()));
        REQUIRE(b.has_value());
        std::string out;
        dump_raw(*b, out);
        CHECK(out == bpftool_text);
    }
}

TEST_CASE("dump_raw_type: one type's lines; any byte_sink, one append per chunk") {
    const blob_builder bb = dump_blob();
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    std::string one;
    dump_raw_type(*b, 4, one);
    CHECK(one == "[4] STRUCT 's' size=8 vlen=2\n\t'a' type_id=1 bits_offset=0\n\t'b' type_id=1 bits_offset=32 bitfield_size=3\n");
    counting_sink sink;
    dump_raw(*b, sink);
    CHECK(sink.text == bpftool_text);
    CHECK(sink.appends == 1);
    CHECK(detail::int_encoding_name(int_bool) == "BOOL");
    CHECK(detail::int_encoding_name(0) == "(none)");
    CHECK(detail::linkage_name(0) == "static");
    CHECK(detail::linkage_name(2) == "extern");
}

TEST_CASE("chunk_writer: pieces of every length copied exactly, across chunks; buffered() counts the rest") {
    std::string out, want;
    {
        detail::chunk_writer<std::string> w(out);
        std::string piece;
        // Short pieces take the writer's own copy (overlapping words), longer ones memcpy; enough of
        // them to fill several chunks, so that pieces straddle a flush too.
        for (std::size_t round = 0; want.size() < 3 * detail::chunk_writer<std::string>::chunk_size; ++round) {
            for (std::size_t n = 0; n <= 40; ++n) {
                piece.clear();
                for (std::size_t i = 0; i < n; ++i) piece += static_cast<char>('!' + (round + n + i) % 90);
                w.put(std::string_view(piece));
                want += piece;
            }
        }
        CHECK(out.size() + w.buffered() == want.size());
        CHECK(&w.sink() == &out);
    }
    CHECK(out == want);
}
