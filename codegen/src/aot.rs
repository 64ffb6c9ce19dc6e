//! Ahead-of-time compilation: many contracts into one shared object, and loading it back.
//!
//! The object carries a header (`kiln_aot_header`: ABI version, entry size, entry count) and an
//! index (`kiln_aot_index`: code hash, fork, function pointer per entry). Functions reach the
//! runtime only through the builtin table in the context, so the library imports no symbols
//! from the host, and it is linked without C start-up files, so loading it runs none of its
//! code. A library is read and checked in full (see `validate`) before the dynamic loader sees
//! it: a file that is truncated, corrupt, not a Kiln library or built for another ABI version
//! is refused before any of it is mapped.

use crate::jit::{host_isa, large_isa};
use crate::lower::{lower, native_signature, Carry};
use crate::CompileError;
use alloy_primitives::map::HashMap;
use alloy_primitives::{keccak256, B256};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{default_libcall_names, DataDescription, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use kiln_frontend::SpecId;
use kiln_runtime::code::AnalyzedCode;
use kiln_runtime::context::ABI_VERSION;
use kiln_runtime::{NativeCode, NativeFn};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

mod validate;

const HEADER: &str = "kiln_aot_header";
const INDEX: &str = "kiln_aot_index";
/// Magic in the header: "KILNAOT1".
const MAGIC: u64 = u64::from_le_bytes(*b"KILNAOT1");
const ENTRY_SIZE: usize = 32 + 8 + 8;
const HEADER_SIZE: usize = size_of::<Header>();

/// The header as laid out in the object.
#[repr(C)]
struct Header {
    magic: u64,
    abi_version: u32,
    entry_size: u32,
    count: u64,
}

/// Compiles contracts into one object file.
pub struct AotCompiler {
    module: ObjectModule,
    large: std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>,
    fctx: FunctionBuilderContext,
    entries: Vec<(B256, SpecId, cranelift_module::FuncId)>,
    seen: HashMap<(B256, SpecId), ()>,
}

impl AotCompiler {
    pub fn new() -> Result<Self, CompileError> {
        let isa = host_isa(true)?;
        let builder = ObjectBuilder::new(isa, "kiln_aot", default_libcall_names())
            .map_err(|e| CompileError::Backend(e.to_string()))?;
        Ok(Self {
            module: ObjectModule::new(builder),
            large: large_isa(true)?,
            fctx: FunctionBuilderContext::new(),
            entries: Vec::new(),
            seen: HashMap::default(),
        })
    }

    /// Adds `code` compiled for `spec`. Duplicates (same hash and fork) are compiled once.
    pub fn add(&mut self, code: &[u8], spec: SpecId) -> Result<(), CompileError> {
        let hash = keccak256(code);
        if self.seen.insert((hash, spec), ()).is_some() {
            return Ok(());
        }
        let f = kiln_ir::build(code, spec);
        let sig = native_signature(self.module.isa().default_call_conv());
        let name = format!("kiln_{}_{}", alloy_primitives::hex::encode(&hash[..8]), spec.name());
        let mut ctx = self.module.make_context();
        ctx.func.signature = sig.clone();
        // Lowered before the function is declared: code the compiler refuses leaves no
        // undefined symbol behind in the object.
        lower(&f, &mut ctx.func, &mut self.fctx, self.module.target_config(), Carry::Regions)?;
        let id = self
            .module
            .declare_function(&format!("{name}_{}", self.entries.len()), Linkage::Local, &sig)
            .map_err(|e| CompileError::Backend(e.to_string()))?;
        let lowered = (&mut self.fctx, Carry::Regions);
        crate::define::define(&mut self.module, id, &f, &mut ctx, &*self.large, lowered)?;
        self.entries.push((hash, spec, id));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finishes the object file's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, CompileError> {
        let err = |e: cranelift_module::ModuleError| CompileError::Backend(e.to_string());
        let header = Header {
            magic: MAGIC,
            abi_version: ABI_VERSION,
            entry_size: ENTRY_SIZE as u32,
            count: self.entries.len() as u64,
        };
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&header.magic.to_le_bytes());
        bytes.extend_from_slice(&header.abi_version.to_le_bytes());
        bytes.extend_from_slice(&header.entry_size.to_le_bytes());
        bytes.extend_from_slice(&header.count.to_le_bytes());
        let hid = self.module.declare_data(HEADER, Linkage::Export, false, false).map_err(err)?;
        let mut desc = DataDescription::new();
        desc.define(bytes.into_boxed_slice());
        desc.set_align(8);
        self.module.define_data(hid, &desc).map_err(err)?;

        let iid = self.module.declare_data(INDEX, Linkage::Export, false, false).map_err(err)?;
        let mut desc = DataDescription::new();
        let mut index = vec![0u8; ENTRY_SIZE * self.entries.len().max(1)];
        for (i, (hash, spec, _)) in self.entries.iter().enumerate() {
            let at = i * ENTRY_SIZE;
            index[at..at + 32].copy_from_slice(hash.as_slice());
            index[at + 32..at + 40].copy_from_slice(&(*spec as u64).to_le_bytes());
        }
        desc.define(index.into_boxed_slice());
        // Word-aligned function addresses, which packed relocations (DT_RELR) can describe.
        desc.set_align(8);
        for (i, (_, _, id)) in self.entries.iter().enumerate() {
            let fref = self.module.declare_func_in_data(*id, &mut desc);
            desc.write_function_addr((i * ENTRY_SIZE + 40) as u32, fref);
        }
        self.module.define_data(iid, &desc).map_err(err)?;
        self.module.finish().emit().map_err(|e| CompileError::Backend(e.to_string()))
    }

    /// Finishes the library and loads it, for a process that compiles its contracts at start
    /// and runs them at once: the shared object is written to the temporary directory and
    /// removed once loaded (the mapping outlives the file).
    pub fn into_library(self) -> Result<AotLibrary, CompileError> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kiln-aot-{}-{n}.so", std::process::id()));
        self.write_library(&path)?;
        let library = AotLibrary::open(&path);
        let _ = std::fs::remove_file(&path);
        Ok(library?)
    }

    /// Finishes and links a shared library at `out` with the system C compiler.
    pub fn write_library(self, out: &Path) -> Result<(), CompileError> {
        let object = self.finish()?;
        let obj_path = temp_path(out, "o");
        std::fs::write(&obj_path, &object)
            .map_err(|e| CompileError::Link(format!("writing {}: {e}", obj_path.display())))?;
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        // No C start-up files (crti, crtbegin and their initializers) and no libc: the code
        // needs neither, and a library that runs nothing on load is one `AotLibrary::open`
        // can check completely before loading it.
        let status = Command::new(&cc)
            .arg("-shared")
            .arg("-nostdlib")
            .arg("-o")
            .arg(out)
            .arg(&obj_path)
            .output()
            .map_err(|e| CompileError::Link(format!("running {cc}: {e}")));
        let _ = std::fs::remove_file(&obj_path);
        let output = status?;
        if !output.status.success() {
            return Err(CompileError::Link(format!(
                "{cc} -shared failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }
}

fn temp_path(near: &Path, ext: &str) -> PathBuf {
    let stem = near.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".{stem}.{}.{ext}", std::process::id()))
}

/// Why a library cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot load {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{path} is not a Kiln AOT library: {reason}")]
    NotKiln { path: String, reason: String },
    #[error("{path} is corrupt or truncated: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("{path} was built for ABI version {found}, this Kiln uses {expected}; recompile it with `kiln compile`")]
    AbiMismatch { path: String, found: u32, expected: u32 },
}

/// A loaded AOT library.
pub struct AotLibrary {
    // Keeps the code mapped for as long as the function pointers are used.
    _lib: libloading::os::unix::Library,
    // The sealed copy the library was loaded from, held open so that no other library is
    // loaded under the same `/proc/self/fd/N` name while this one is (glibc would hand back
    // this one). Declared after `_lib` so that it is closed after the library is unloaded.
    _copy: OwnedFd,
    functions: HashMap<(B256, SpecId), NativeFn>,
}

impl AotLibrary {
    pub fn open(path: &Path) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        let open_err = |reason: String| LoadError::Open { path: shown.clone(), reason };
        let corrupt = |reason: String| LoadError::Corrupt { path: shown.clone(), reason };
        let bytes = FileBytes::read(path).map_err(|e| open_err(e.to_string()))?;
        let layout = validate::validate(bytes.as_bytes(), page_size()).map_err(|r| match r {
            validate::Refusal::Corrupt(reason) => corrupt(reason),
            validate::Refusal::NotKiln(reason) => {
                LoadError::NotKiln { path: shown.clone(), reason }
            }
            validate::Refusal::Abi(found) => {
                LoadError::AbiMismatch { path: shown.clone(), found, expected: ABI_VERSION }
            }
        })?;
        // The file could change between being checked and being loaded, so the loader is
        // given the checked bytes instead: a memfd sealed against any further change.
        let copy = sealed_copy(bytes.as_bytes())
            .map_err(|e| open_err(format!("copying it to a sealed memfd: {e}")))?;
        let name = format!("/proc/self/fd/{}", copy.as_raw_fd());
        let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
        // SAFETY: loading runs no code of the library's own: validation refused initializers,
        // finalizers, dependencies, TLS and every relocation but the index's RELATIVE ones, and
        // checked that what the loader reads and writes lies within the file's bytes.
        let lib = unsafe { libloading::os::unix::Library::open(Some(&name), flags) }
            .map_err(|e| open_err(e.to_string()))?;
        let (lib, base) = load_base(lib);
        let base = base.ok_or_else(|| open_err("dlinfo gave no link map".into()))?;
        let at = |vaddr: u64| base.wrapping_add(vaddr as usize);

        // What is used must be what was checked: the loader's symbols at the places the file
        // gives them relative to the load base, holding the file's bytes.
        let find = |name: &str| -> Result<usize, LoadError> {
            // SAFETY: only the symbol's address is taken; nothing is read through it here.
            let sym = unsafe { lib.get::<*const u8>(name.as_bytes()) }
                .map_err(|e| corrupt(format!("the loader did not find {name}: {e}")))?;
            Ok(sym.into_raw() as usize)
        };
        let header = find(HEADER)?;
        let index = find(INDEX)?;
        if header != at(layout.header_vaddr) || index != at(layout.index_vaddr) {
            return Err(corrupt(format!(
                "the loader placed {HEADER} and {INDEX} at {header:#x} and {index:#x}, not at \
                 {:#x} and {:#x} as the file says",
                at(layout.header_vaddr),
                at(layout.index_vaddr)
            )));
        }
        // SAFETY: validation put the header in the file bytes of a load segment, which the
        // loader mapped at `base` plus its address (checked just above); it stays mapped while
        // `lib` is alive, and nothing writes to it.
        let loaded_header = unsafe { std::slice::from_raw_parts(header as *const u8, HEADER_SIZE) };
        // SAFETY: as for the header, for the index's bytes; the loader's writes to it (the
        // function addresses) were finished when dlopen returned.
        let loaded_index =
            unsafe { std::slice::from_raw_parts(index as *const u8, layout.index.len()) };
        if loaded_header != layout.header {
            return Err(corrupt("the loaded header differs from the file's".into()));
        }
        let mut functions = HashMap::default();
        for (i, (entry, loaded)) in
            layout.entries.iter().zip(loaded_index.chunks_exact(ENTRY_SIZE)).enumerate()
        {
            let from_file = &layout.index[i * ENTRY_SIZE..i * ENTRY_SIZE + 40];
            let addr = usize::from_le_bytes(loaded[40..48].try_into().expect("8 bytes"));
            if loaded[..40] != *from_file || addr != at(entry.function) {
                return Err(corrupt(format!("the loaded index entry {i} differs from the file's")));
            }
            // SAFETY: the address lies in an executable segment (checked by validation), where
            // the linker resolved it to a function compiled with `native_signature`, which is
            // `NativeFn`'s C ABI, for this ABI version.
            let f = unsafe { std::mem::transmute::<usize, NativeFn>(addr) };
            functions.insert((entry.hash, entry.spec), f);
        }
        Ok(Self { _lib: lib, _copy: copy, functions })
    }

    pub fn len(&self) -> usize {
        self.functions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    pub fn get(&self, hash: B256, spec: SpecId) -> Option<NativeFn> {
        self.functions.get(&(hash, spec)).copied()
    }
}

impl NativeCode for AotLibrary {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn> {
        let mut shared: &AotLibrary = self;
        shared.lookup(code, spec)
    }
}

/// A library shared by several executors (threads, EVMs) looks code up through `&AotLibrary`:
/// lookups only read it.
impl NativeCode for &AotLibrary {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn> {
        let hash = if code.hash() == B256::ZERO { keccak256(code.bytes()) } else { code.hash() };
        self.get(hash, spec)
    }
}

/// A file's bytes in 8-byte-aligned memory: the ELF structures are read in place, and the
/// `object` crate checks their alignment against the buffer.
struct FileBytes {
    words: Vec<u64>,
    len: usize,
}

impl FileBytes {
    fn read(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::File::open(path)?;
        // Reading a device or a pipe might never end.
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let words = bytes
            .chunks(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_ne_bytes(w)
            })
            .collect();
        Ok(Self { words, len: bytes.len() })
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `words` holds `len.div_ceil(8)` initialized words, at least `len` bytes,
        // and u8 has no alignment or validity requirements.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

/// A memfd holding `bytes`, sealed so that they can no longer change.
fn sealed_copy(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    // SAFETY: the name is a NUL-terminated string; memfd_create has no other preconditions.
    let fd = unsafe {
        libc::memfd_create(c"kiln-aot".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.write_all(bytes)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS on a descriptor this function owns, with an integer argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file.into())
}

/// The start of glibc's `struct link_map`: the load bias, the difference between addresses in
/// the file and in memory. Nothing else of it is read.
#[repr(C)]
struct LinkMapHead {
    l_addr: usize,
}

/// The library's load bias, from its link map.
fn load_base(lib: libloading::os::unix::Library) -> (libloading::os::unix::Library, Option<usize>) {
    let handle = lib.into_raw();
    let mut map: *const LinkMapHead = std::ptr::null();
    // SAFETY: `handle` is a live dlopen handle; RTLD_DI_LINKMAP stores a `struct link_map *`
    // through the pointer it is given.
    let rc = unsafe {
        libc::dlinfo(handle, libc::RTLD_DI_LINKMAP, (&raw mut map).cast::<libc::c_void>())
    };
    // SAFETY: `handle` came from `into_raw` just above and is taken back once.
    let lib = unsafe { libloading::os::unix::Library::from_raw(handle) };
    if rc != 0 || map.is_null() {
        return (lib, None);
    }
    // SAFETY: a loaded object's link map lives as long as the object, which `lib` keeps
    // loaded, and starts with `l_addr`.
    let base = unsafe { (*map).l_addr };
    (lib, Some(base))
}
