// Targets read from files or from the running kernel (sysfs), owning their bytes, with an index
// cache file and the module BTF fds it opened.
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/bpf_object.hpp"
#include "../format/btf.hpp"
#include "../runtime/name_pass.hpp"
#include "../runtime/parallel_parse.hpp"
#include "../runtime/threads.hpp"
#include "../targets/index_cache.hpp"
#include "../targets/module_name.hpp"
#include "../targets/target_set.hpp"
#include "files.hpp"
#include "kernel_btf.hpp"

namespace btfkit {

// Where the running kernel's BTF files are: module files here are read through bpf() in kernel mode.
inline constexpr std::string_view kernel_btf_dir = "/sys/kernel/btf";

// How file_targets opens its targets.
struct target_options {
    // The running kernel's BTF: modules named by a file in kernel_btf_dir are read through bpf() as
    // their kernel BTF objects (kernel_btf), and TYPE_ID_TARGET's module fds/ids name those objects.
    bool kernel = false;
    // Only these modules are searched besides vmlinux (names as module_name_of gives them, so sysfs
    // names), in the targets' order; empty: every module (libbpf's search). For a type that several
    // modules define, as a loader scopes to its attach target's module. A name that is not among the
    // modules is an error.
    std::vector<std::string> module_scope{};
    // A file for the name indexes (index_cache.hpp), "" for none. When it matches the files (path,
    // size, mtime and inode of vmlinux and every module, in order), it is mapped and used: no module
    // is read until a lookup hits it. Otherwise the indexes are built as usual and the file is
    // (re)written, once for vmlinux at open and again when the module index is built.
    std::string index_cache{};
    // Read vmlinux into memory instead of mapping it. For a short-lived process on a machine where the
    // first touch of each mapped 4 KiB page is costly (a VM with shadow paging): the bytes land in
    // 2 MiB pages, and parsing and lookups then run faster than over the mapping (`btfkit` does this).
    // Not for sysfs files, which are still mapped (see mapped_file::load::read).
    // Costs the file's size in heap; a long-lived loader keeps the default and shares the page cache.
    bool read_vmlinux = false;
    // Names the caller will look up in `prefetch_space` (of types: their essential names are taken):
    // prefetched at open (target_set::prefetch). Without an index cache, the pass over the modules
    // starts on a second thread before vmlinux is read, walking modules while vmlinux is read and
    // parsed (name_pass).
    std::vector<std::string> prefetch{};
    name_space prefetch_space = name_space::types;
    // Directories whose files (other than "vmlinux") are modules too, after the module files given,
    // each directory's in name order. They are listed while a second thread reads and parses vmlinux
    // (listing thousands of files takes about as long).
    std::vector<std::string> module_dirs{};
};

// Targets read from files or from the running kernel, owning their bytes and the module fds it opened.
class file_targets {
public:
    file_targets() = default;
    file_targets(const file_targets&) = delete;
    file_targets& operator=(const file_targets&) = delete;
    ~file_targets() = default;

    // vmlinux BTF from a file (raw or ELF); `modules` are files (raw BTF or .ko), searched in order.
    [[nodiscard]] static result<std::unique_ptr<file_targets>> open(const std::string& vmlinux_path,
                                                                    const std::vector<std::string>& module_paths,
                                                                    bool kernel = false) {
        target_options o;
        o.kernel = kernel;
        return open(vmlinux_path, module_paths, o);
    }
    [[nodiscard]] static result<std::unique_ptr<file_targets>> open(const std::string& vmlinux_path,
                                                                    const std::vector<std::string>& module_paths,
                                                                    const target_options& o) {
        auto listed = o.kernel ? kernel_btf::list() : result<kernel_btf>(kernel_btf{});
        if (o.module_dirs.empty()) return open_listed(vmlinux_path, module_paths, o, std::move(listed));
        // vmlinux on a second thread while the directories are listed here
        early_vmlinux early;
        std::vector<std::string> mods = module_paths;
        error listing{};
        detail::run_both(
            [&] {
                for (const auto& d : o.module_dirs) {
                    auto files = list_directory(d);
                    if (!files) {
                        listing = files.error().about(d);
                        return;
                    }
                    for (const auto& n : *files) {
                        if (n != "vmlinux") mods.push_back(d + "/" + n);
                    }
                }
            },
            [&] { early.read(vmlinux_path, o.read_vmlinux ? mapped_file::load::read : mapped_file::load::map); });
        if (listing.code != errc::ok) return listing;
        return open_listed(vmlinux_path, std::move(mods), o, std::move(listed), &early);
    }

    // The running kernel: /sys/kernel/btf/vmlinux and its modules in libbpf's order (kernel BTF object
    // ids, from bpf()), each module read through bpf() (kernel_btf). Where bpf() says no (no
    // privileges), or for another `dir`, the module files beside vmlinux, in load order (reverse
    // /proc/modules, which matches the order of the ids); TYPE_ID_TARGET then has no fd or id to
    // write. `o.kernel` is set here.
    [[nodiscard]] static result<std::unique_ptr<file_targets>> running_kernel(const std::string& dir = std::string(kernel_btf_dir),
                                                                              target_options o = {}) {
        o.kernel = true;
        auto listed = kernel_btf::list();
        std::vector<std::string> mods;
        if (listed && dir == kernel_btf_dir) {
            for (const auto& obj : listed->objects()) {
                if (obj.name != "vmlinux") mods.push_back(dir + "/" + obj.name);
            }
        } else {
            auto files = module_files_in_load_order(dir);
            if (!files) return files.error();
            mods = std::move(*files);
        }
        return open_listed(dir + "/vmlinux", mods, o, std::move(listed));
    }

    [[nodiscard]] target_set& targets() noexcept { return *set_; }
    [[nodiscard]] const target_set& targets() const noexcept { return *set_; }
    [[nodiscard]] const btf& vmlinux() const noexcept { return *vmlinux_; }
    [[nodiscard]] bool is_kernel() const noexcept { return kernel_; }
    // Whether the indexes came from the index cache file (false: built here, and the file rewritten).
    [[nodiscard]] bool index_cache_hit() const noexcept { return cache_hit_; }
    // Why the cache file was not used or not written, if it was not ("" otherwise).
    [[nodiscard]] const std::string& index_cache_note() const noexcept { return cache_note_; }
    // The kernel BTF object id of target t (0: vmlinux) as listed when the targets opened; none for
    // targets not read from the kernel.
    [[nodiscard]] std::optional<std::uint32_t> kernel_object_id(std::uint32_t t) const noexcept {
        const auto objects = kernel_btf_.objects();
        if (t == 0) {
            if (!kernel_ || objects.empty() || objects[0].name != "vmlinux") return std::nullopt;
            return objects[0].id;
        }
        const std::uint32_t k = kernel_object_[t - 1];
        if (k == no_object) return std::nullopt;
        return objects[k].id;
    }

private:
    // vmlinux read and parsed before the module list is known (see target_options::module_dirs).
    struct early_vmlinux {
        mapped_file file{};
        std::unique_ptr<btf> parsed{};
        error why{};  // errc::ok, or why it could not be read or parsed (not yet about its path)
        void read(const std::string& path, mapped_file::load how) {
            auto f = mapped_file::open(path, how);
            if (!f) return void(why = f.error());
            file = std::move(*f);
            auto raw = find_btf(file.bytes());
            if (!raw) return void(why = raw.error());
            auto b = btf::parse(*raw);
            if (!b) return void(why = b.error());
            parsed = std::make_unique<btf>(std::move(*b));
        }
    };

    [[nodiscard]] static result<std::unique_ptr<file_targets>> open_listed(const std::string& vmlinux_path,
                                                                           std::vector<std::string> module_paths,
                                                                           const target_options& o, result<kernel_btf> listed,
                                                                           early_vmlinux* early = nullptr) {
        const bool kernel = o.kernel;
        BTFKIT_TRY(scope_modules(module_paths, o.module_scope));
        auto t = std::unique_ptr<file_targets>(new file_targets());
        // With an index cache, the files' identities (one stat each: ~3 us, 13 ms for 4,000 modules on
        // a VM) are taken on a second thread while vmlinux is parsed, and on this one after it.
        identity_job ids(o.index_cache.empty() ? std::span<const std::string>{} : std::span<const std::string>(module_paths));
        file_targets* self = t.get();
        t->paths_ = module_paths;
        t->module_dir_ = directory_opener(t->paths_);
        t->kernel_object_.assign(module_paths.size(), no_object);
        if (kernel) t->use_kernel_objects(std::move(listed));
        auto load = [self](std::uint32_t m, byte_buffer& buf) {
            const std::uint32_t k = self->kernel_object_[m - 1];
            return k != no_object ? self->kernel_btf_.read(k, buf) : read_btf_into(self->paths_[m - 1], buf, &self->module_dir_);
        };
        std::vector<std::string_view> wanted;
        if (o.prefetch_space != name_space::any_kind) {
            for (const auto& n : o.prefetch) wanted.push_back(o.prefetch_space == name_space::types ? essential_name(n) : std::string_view(n));
        }
        std::unique_ptr<name_pass> pass;  // modules walked while vmlinux is read and parsed
        if (!wanted.empty() && o.index_cache.empty() && !module_paths.empty()) {
            pass = std::make_unique<name_pass>(wanted, static_cast<std::uint32_t>(module_paths.size()), load, std::vector<bool>{},
                                               o.prefetch_space);
            pass->start();
        }
        named_hashes hashes;
        if (early) {
            if (early->why.code != errc::ok) return early->why.about(vmlinux_path);
            t->vmlinux_file_ = std::move(early->file);
            t->vmlinux_ = std::move(early->parsed);
            if (pass) {
                pass->base_strings_known(base_strings{t->vmlinux_->order(), t->vmlinux_->own_strings()});
                pass->base_parsed(*t->vmlinux_);
            }
        } else {
            // Mapped by halves on the parse's two threads, unless one of them is walking modules.
            const auto how = o.read_vmlinux ? mapped_file::load::read : pass ? mapped_file::load::map : mapped_file::load::map_halves;
            auto f = mapped_file::open(vmlinux_path, how);
            if (!f) return f.error().about(vmlinux_path);
            t->vmlinux_file_ = std::move(*f);
            auto raw = find_btf(t->vmlinux_file_.bytes());
            if (!raw) return raw.error().about(vmlinux_path);
            if (pass) {
                if (auto strings = base_strings::of(*raw)) pass->base_strings_known(*strings);  // else parse says why
            }
            // On two threads, unless the second one is walking modules already; without an index
            // cache, each thread also hashes the names of its half for vmlinux's name index.
            auto b = pass ? btf::parse(*raw)
                          : parse_two_threads(*raw, nullptr, nullptr, o.index_cache.empty() ? &hashes : nullptr, how == mapped_file::load::map_halves);
            if (!b) return b.error().about(vmlinux_path);
            t->vmlinux_ = std::make_unique<btf>(std::move(*b));
            if (pass) pass->base_parsed(*t->vmlinux_);
        }
        // vmlinux's name index: from the cache, or built by the first lookup that needs it (from the
        // hashes just taken: inserts only), and names given to prefetch first need none.
        t->set_ = std::make_unique<target_set>(*t->vmlinux_, false);
        t->set_->keep_vmlinux_hashes(std::move(hashes));
        t->kernel_ = kernel;
        for (const auto& p : module_paths) t->set_->add_module(btfkit::module_name_of(p));
        t->set_->set_loader(load);
        if (kernel) {
            t->set_->set_upper_resolver([self](std::uint32_t m, fd_encoding enc) { return self->kernel_upper(m, enc); });
        }
        if (!o.index_cache.empty()) t->use_index_cache(vmlinux_path, o.index_cache, ids.finish());
        if (pass) {
            BTFKIT_TRY(t->set_->adopt(*pass));
        } else if (!wanted.empty()) {
            BTFKIT_TRY(t->set_->prefetch(wanted, o.prefetch_space));
        }
        return t;
    }

    // The identities of a list of files, as one key. A second thread (started at construction) takes
    // them in blocks while the caller parses vmlinux; then the caller takes blocks too, until none is
    // left. Each file's identity has its own slot, so the key does not depend on who took which.
    class identity_job {
    public:
        explicit identity_job(std::span<const std::string> paths) : paths_(paths), ids_(paths.size()) {
            if (!paths.empty()) (void)worker_.start([this] { take_all(); });  // no thread: all in finish()
        }
        identity_job(const identity_job&) = delete;
        identity_job& operator=(const identity_job&) = delete;
        [[nodiscard]] std::uint64_t finish() {
            take_all();
            worker_.join();
            index_key k;
            k.add(paths_.size());
            for (const std::uint64_t id : ids_) k.add(id);
            return k.value();
        }

    private:
        static constexpr std::size_t block = 16;
        void take_all() {
            for (std::size_t i = next_.fetch_add(block); i < paths_.size(); i = next_.fetch_add(block)) {
                for (std::size_t j = i; j < std::min(paths_.size(), i + block); ++j) {
                    index_key k;
                    add_file_identity(k, paths_[j]);
                    ids_[j] = k.value();
                }
            }
        }
        std::span<const std::string> paths_;
        std::vector<std::uint64_t> ids_;
        std::atomic<std::size_t> next_{0};
        detail::helper_thread worker_{};
    };

    void use_index_cache(const std::string& vmlinux_path, const std::string& cache, std::uint64_t modules_key) {
        index_key k;
        add_file_identity(k, vmlinux_path);
        k.add(vmlinux_->own_count()).add(modules_key);
        const std::uint64_t key = k.value();
        auto save = [this, key, cache](const target_set& s) {
            auto img = index_cache::save(s, key);
            const status st = img ? write_file_atomic(cache, byte_span(img->data(), img->size())) : status(img.error());
            if (!st) cache_note_ = st.error().about(cache).message();
        };
        if (auto f = mapped_file::open(cache)) {
            if (status st = index_cache::load(*set_, f->bytes(), key)) {
                cache_file_ = std::move(*f);
                cache_hit_ = true;
                // An image saved before any module lookup holds vmlinux's index only: add the module
                // index when it gets built.
                if (!paths_.empty() && !set_->module_index_ready()) set_->set_index_listener(save);
                return;
            } else {
                cache_note_ = st.error().about(cache).message();
            }
        } else if (!(f.error().code == errc::io && f.error().where.value == ENOENT)) {  // none yet: no note
            cache_note_ = f.error().about(cache).message();
        }
        set_->build_vmlinux_index();
        save(*set_);
        if (!paths_.empty()) set_->set_index_listener(save);
    }

    // The module files beside `dir`/vmlinux, in load order (reverse /proc/modules, which matches the
    // order of kernel BTF ids that libbpf walks), then any /proc/modules did not list.
    [[nodiscard]] static result<std::vector<std::string>> module_files_in_load_order(const std::string& dir) {
        auto names = list_directory(dir);
        if (!names) return names.error().about(dir);
        std::vector<std::string> order;
        {
            std::ifstream pm("/proc/modules");
            std::string line;
            while (std::getline(pm, line)) order.push_back(line.substr(0, line.find(' ')));
            std::reverse(order.begin(), order.end());
        }
        std::vector<std::string> mods;
        for (const auto& n : order) {
            if (std::binary_search(names->begin(), names->end(), n)) mods.push_back(dir + "/" + n);
        }
        for (const auto& n : *names) {
            if (n == "vmlinux" || std::find(order.begin(), order.end(), n) != order.end()) continue;
            mods.push_back(dir + "/" + n);
        }
        return mods;
    }

    // Keeps the modules `scope` names (all if it is empty), in order; each name must be one of them.
    [[nodiscard]] static status scope_modules(std::vector<std::string>& paths, std::span<const std::string> scope) {
        if (scope.empty()) return {};
        for (const auto& want : scope) {
            if (std::none_of(paths.begin(), paths.end(), [&](const std::string& p) { return module_name_of(p) == want; })) {
                return error(errc::not_found, "module named by the scope is not among the target modules").about(want);
            }
        }
        std::erase_if(paths, [&](const std::string& p) { return std::find(scope.begin(), scope.end(), module_name_of(p)) == scope.end(); });
        return {};
    }

    // Kernel mode: each module file in kernel_btf_dir that names a kernel BTF object is read as that
    // object. Without the list (bpf() refused), the files are read and no fd or id can be written.
    void use_kernel_objects(result<kernel_btf> listed) {
        if (!listed) {
            kernel_list_error_ = listed.error();
            return;
        }
        kernel_btf_ = std::move(*listed);
        const std::string prefix = std::string(kernel_btf_dir) + "/";
        for (std::size_t m = 0; m < paths_.size(); ++m) {
            if (!paths_[m].starts_with(prefix)) continue;
            if (auto k = kernel_btf_.find(std::string_view(paths_[m]).substr(prefix.size()))) kernel_object_[m] = *k;
        }
    }

    // The index cache key of the modules: their files' identities, and for those read through bpf()
    // their object ids (a reloaded module is a new object, whatever its sysfs file looks like).
    [[nodiscard]] std::uint64_t with_object_ids(std::uint64_t files_key) const {
        if (kernel_btf_.objects().empty()) return files_key;
        index_key k;
        k.add(files_key);
        for (const std::uint32_t obj : kernel_object_) k.add(obj != no_object ? kernel_btf_.objects()[obj].id : 0u);
        return k.value();
    }

    result<std::uint32_t> kernel_upper(std::uint32_t m, fd_encoding enc) {
        const std::uint32_t k = kernel_object_[m - 1];
        if (k != no_object) return kernel_btf_.upper(k, enc);
        if (kernel_list_error_.code != errc::ok) {  // e.g. EPERM without privileges
            return error(errc::not_found, "no kernel BTF fd or id: bpf() could not list the kernel's BTF objects").got(kernel_list_error_.where.value).about(set_->target_name(m));
        }
        return error(errc::not_found, "module was not read from the kernel: no kernel BTF object to name").about(set_->target_name(m));
    }

    mapped_file vmlinux_file_{};
    mapped_file cache_file_{};  // the index cache the target set borrows from
    bool cache_hit_ = false;
    std::string cache_note_{};
    std::unique_ptr<btf> vmlinux_{};
    std::unique_ptr<target_set> set_{};
    std::vector<std::string> paths_{};
    directory_opener module_dir_{};  // the modules' directory, held open for the reads
    bool kernel_ = false;
    static constexpr std::uint32_t no_object = ~std::uint32_t{0};
    kernel_btf kernel_btf_{};                  // kernel mode: the kernel's BTF objects, and the fds handed out
    std::vector<std::uint32_t> kernel_object_{};  // per module: its object in kernel_btf_, or no_object
    error kernel_list_error_{};                // kernel mode: why the objects could not be listed
};

}  // namespace btfkit
