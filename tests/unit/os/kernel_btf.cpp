// os/kernel_btf.hpp (the kernel's BTF objects through bpf()) and the module scope of file_targets.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/kernel.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;

const fs::path corpus{BTFKIT_CORPUS_DIR};

bool have_modules(std::initializer_list<const char*> names) {
    bool all = fs::exists(corpus / "vmlinux");
    for (const char* n : names) all = all && fs::exists(corpus / "modules" / n);
    if (!all) MESSAGE("skipping: no Debian corpus in " << corpus.string() << " (bench/corpus/fetch)");
    return all;
}

std::vector<std::string> where_defined(bk::file_targets& t, std::string_view name) {
    std::vector<bk::candidate> found;
    REQUIRE(t.targets().find(name, found).has_value());
    std::vector<std::string> out;
    for (const auto& c : found) out.emplace_back(t.targets().target_name(c.target));
    return out;
}

}  // namespace

TEST_CASE("kernel_btf: objects listed by id, read through bpf() as sysfs shows them, fd and id name the same object") {
    auto listed = bk::kernel_btf::list();
    if (!listed) {
        MESSAGE("skipped: " << listed.error().message());
        CHECK(listed.error().code == bk::errc::io);  // bpf() refused (no privileges): said, not crashed
        return;
    }
    auto& k = *listed;
    REQUIRE(!k.objects().empty());
    CHECK(k.objects()[0].name == "vmlinux");  // id order: vmlinux's object is created first
    for (std::size_t i = 1; i < k.objects().size(); ++i) CHECK(k.objects()[i - 1].id < k.objects()[i].id);
    const auto v = k.find("vmlinux");
    REQUIRE(v.has_value());
    CHECK_FALSE(k.find("no such module").has_value());

    bk::byte_buffer through_bpf;
    REQUIRE(k.read(*v, through_bpf).has_value());
    bk::byte_buffer from_sysfs;
    REQUIRE(bk::read_file_into("/sys/kernel/btf/vmlinux", from_sysfs).has_value());
    REQUIRE(through_bpf.size() == from_sysfs.size());
    CHECK(std::equal(through_bpf.data(), through_bpf.data() + through_bpf.size(), from_sysfs.data()));

    auto id = k.upper(*v, bk::fd_encoding::btf_id);
    REQUIRE(id.has_value());
    CHECK(*id == k.objects()[*v].id);
    auto fd = k.upper(*v, bk::fd_encoding::btf_fd);
    REQUIRE(fd.has_value());
    bk::sys::btf_object_info info;
    REQUIRE(bk::sys::btf_get_info(static_cast<int>(*fd), info) == 0);
    CHECK(info.id == k.objects()[*v].id);
    CHECK(info.name == "vmlinux");
    CHECK(k.upper(*v, bk::fd_encoding::btf_fd).value_or(0) == *fd);  // one fd per object, kept
}

TEST_CASE("kernel_btf: an object that is gone is an error naming the module, not bytes or a fd of another") {
    auto listed = bk::kernel_btf::list();
    if (!listed) {
        MESSAGE("skipped: " << listed.error().message());
        return;
    }
    // Ids are not reused, so an id past every listed one names no object yet: as a module unloaded
    // after the listing.
    bk::byte_buffer buf;
    const std::uint32_t v = 0;
    bk::kernel_btf gone({{"vmlinux", 0x7ffffff0}});
    const auto r = gone.read(v, buf);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message() == "vmlinux: BTF object 2147483632: gone: its module was unloaded after the targets were opened [I/O error]");
    const auto u = gone.upper(v, bk::fd_encoding::btf_fd);
    REQUIRE_FALSE(u.has_value());
    CHECK(u.error().message() == r.error().message());
}

TEST_CASE("file_targets: module_scope searches vmlinux and the named modules only, in the targets' order") {
    if (!have_modules({"garp", "8021q", "veth"})) return;
    const std::string vmlinux = (corpus / "vmlinux").string();
    const std::vector<std::string> mods{(corpus / "modules" / "veth").string(), (corpus / "modules" / "garp").string(),
                                        (corpus / "modules" / "8021q").string()};
    auto all = bk::file_targets::open(vmlinux, mods);
    REQUIRE(all.has_value());
    CHECK(where_defined(**all, "garp_port") == std::vector<std::string>{"vmlinux", "garp", "8021q"});  // FWD in vmlinux

    bk::target_options o;
    o.module_scope = {"8021q", "veth"};
    auto scoped = bk::file_targets::open(vmlinux, mods, o);
    REQUIRE(scoped.has_value());
    CHECK((*scoped)->targets().target_count() == 3);
    CHECK((*scoped)->targets().target_name(1) == "veth");  // the targets' order, not the scope's
    CHECK((*scoped)->targets().target_name(2) == "8021q");
    CHECK(where_defined(**scoped, "garp_port") == std::vector<std::string>{"vmlinux", "8021q"});

    o.module_scope = {"8021q", "garp.ko"};
    auto bad = bk::file_targets::open(vmlinux, mods, o);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message() == "garp.ko: module named by the scope is not among the target modules [not found]");
}
