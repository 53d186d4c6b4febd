// format_json against bpftool 7.1: vmlinux's BTF loaded as a user BTF, an array map per value type filled
// with random bytes, and `bpftool map dump id ID -j`'s "formatted" values compared byte for byte.
#include <doctest/doctest.h>

#include "running_vmlinux.hpp"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "btfkit/kernel.hpp"
#include "btfkit/show/format_json.hpp"

namespace {

namespace bk = btfkit;

std::string run(const std::string& cmd) {
    std::string out;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

struct fd_guard {
    int fd = -1;
    ~fd_guard() { if (fd >= 0) ::close(fd); }
};

int btf_load(bk::byte_span blob) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.btf = bk::sys::user_ptr(blob.data());
    a.btf_size = static_cast<std::uint32_t>(blob.size());
    const long fd = bk::sys::bpf(BPF_BTF_LOAD, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

int map_create(int btf_fd, std::uint32_t key_type, std::uint32_t value_type, std::uint32_t value_size, std::uint32_t entries) {
    return bk::sys::array_map_create(value_size, entries, {.btf_fd = btf_fd, .btf_key_type_id = key_type, .btf_value_type_id = value_type});
}

bool map_update(int fd, std::uint32_t key, const std::string& value) { return bk::sys::map_update(fd, key, value.data()) == 0; }

std::uint32_t map_id(int fd) {
    struct bpf_map_info info;
    std::memset(&info, 0, sizeof(info));
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<std::uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = bk::sys::user_ptr(&info);
    return bk::sys::bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0 ? info.id : 0;
}

}  // namespace

TEST_CASE("print --json: format_json matches bpftool map dump -j") {
    if (run("bpftool version 2>/dev/null").find("bpftool") == std::string::npos) {
        MESSAGE("skipping: bpftool not installed");
        return;
    }
    if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
        MESSAGE("skipping: the running kernel has no BTF");
        return;
    }
    std::string vm_why;
    const auto vm = bk::testing::open_running_vmlinux(vm_why);
    REQUIRE_MESSAGE(vm != nullptr, vm_why);
    const bk::btf& b = *vm->types;
    fd_guard btf_fd{btf_load(vm->file.bytes())};
    if (btf_fd.fd < 0) {
        MESSAGE("skipping: BPF_BTF_LOAD of vmlinux's BTF failed (" << std::strerror(-btf_fd.fd) << ")");
        return;
    }
    std::uint32_t u32_id = 0;
    for (std::uint32_t id = 1; id < b.type_count() && u32_id == 0; ++id) {
        const bk::type t = b[id];
        if (t.kind() == bk::kind::int_ && t.size() == 4 && t.int_bits() == 32 && t.int_encoding() == 0) u32_id = id;
    }
    REQUIRE(u32_id != 0);

    std::vector<std::uint32_t> candidates;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        const bk::kind k = b.kind_of(id);
        if (k == bk::kind::var || k == bk::kind::datasec || k == bk::kind::func || k == bk::kind::func_proto || k == bk::kind::fwd) continue;
        std::uint64_t budget = bk::show_default_steps;
        if (!bk::detail::check_json_printable(b, id, budget)) continue;
        auto size = b.resolve_size(id);
        if (!size || *size == 0 || *size > 8192) continue;
        candidates.push_back(id);
    }
    REQUIRE(candidates.size() > 1000);

    const char* env_types = std::getenv("BTFKIT_JSON_TYPES");
    const int types = env_types ? std::atoi(env_types) : 300;
    constexpr std::uint32_t entries = 6;
    std::mt19937_64 rng(0x6a50'b7f1);
    int compared = 0, maps_refused = 0, mismatches = 0;
    for (int n = 0; n < types; ++n) {
        const std::uint32_t id = candidates[rng() % candidates.size()];
        const auto size = static_cast<std::uint32_t>(*b.resolve_size(id));
        const auto plan = bk::json_plan::compile(b, id);
        REQUIRE_MESSAGE(plan.has_value(), plan.error().message());
        fd_guard map{map_create(btf_fd.fd, u32_id, id, size, entries)};
        if (map.fd < 0) {
            ++maps_refused;  // value types with special fields (locks, timers, kptrs) the kernel checks
            continue;
        }
        std::vector<std::string> expected;
        for (std::uint32_t e = 0; e < entries; ++e) {
            std::string value(size, '\0');
            for (auto& c : value) {
                const auto r = rng();
                switch (e % 3) {
                case 0: c = r % 8 == 0 ? static_cast<char>(r >> 8) : 0; break;
                case 1: c = static_cast<char>(r >> 8); break;
                default: c = r % 5 == 0 ? 0 : static_cast<char>(0x20 + (r >> 8) % 0x5f); break;
                }
            }
            REQUIRE(map_update(map.fd, e, value));
            std::string ours;
            const auto r = bk::format_json(b, id, bk::byte_span(value.data(), value.size()), ours);
            REQUIRE_MESSAGE(r.has_value(), r.error().message());
            std::string planned;
            REQUIRE(plan->format(bk::byte_span(value.data(), value.size()), planned).has_value());
            CHECK(planned == ours);  // json_plan: the same bytes
            expected.push_back("\"formatted\":{\"key\":" + std::to_string(e) + ",\"value\":" + ours + "}}");
        }
        const std::string dump = run("bpftool map dump id " + std::to_string(map_id(map.fd)) + " -j 2>&1");
        for (const std::string& want : expected) {
            ++compared;
            if (dump.find(want) == std::string::npos) {
                ++mismatches;
                if (std::getenv("BTFKIT_JSON_DEBUG")) {
                    std::FILE* f = std::fopen("/tmp/json-diff.txt", "w");
                    std::fprintf(f, "%s\n%s\n", dump.c_str(), want.c_str());
                    std::fclose(f);
                }
                FAIL_CHECK("type " << id << ": bpftool printed\n" << dump.substr(0, 4000) << "\nbtfkit expected\n" << want.substr(0, 4000));
            }
        }
    }
    MESSAGE("bpftool oracle: " << compared << " values compared over " << types - maps_refused << " types ("
                               << maps_refused << " map value types refused by the kernel), " << mismatches << " differ");
}
