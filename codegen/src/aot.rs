//! Ahead-of-time compilation: many contracts into one shared object, and loading it back.
//!
//! The object carries a header (`kiln_aot_header`: ABI version, entry size, entry count) and an
//! index (`kiln_aot_index`: code hash, fork, function pointer per entry). Functions reach the
//! runtime only through the builtin table in the context, so the library imports no symbols
//! from the host. A library built for another ABI version, or a file that is not a Kiln
//! library, is refused before any of its code runs.

use crate::jit::{host_isa, large_isa};
use crate::lower::{lower, native_signature};
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
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADER: &str = "kiln_aot_header";
const INDEX: &str = "kiln_aot_index";
/// Magic in the header: "KILNAOT1".
const MAGIC: u64 = u64::from_le_bytes(*b"KILNAOT1");
const ENTRY_SIZE: usize = 32 + 8 + 8;

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
        let id = self
            .module
            .declare_function(&format!("{name}_{}", self.entries.len()), Linkage::Local, &sig)
            .map_err(|e| CompileError::Backend(e.to_string()))?;
        let mut ctx = self.module.make_context();
        ctx.func.signature = sig;
        lower(&f, &mut ctx.func, &mut self.fctx, self.module.target_config());
        crate::define::define(&mut self.module, id, &mut ctx, &*self.large)?;
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
    #[error("{path} was built for ABI version {found}, this Kiln uses {expected}; recompile it with `kiln compile`")]
    AbiMismatch { path: String, found: u32, expected: u32 },
}

/// A loaded AOT library.
pub struct AotLibrary {
    // Keeps the code mapped for as long as the function pointers are used.
    _lib: libloading::Library,
    functions: HashMap<(B256, SpecId), NativeFn>,
}

impl AotLibrary {
    pub fn open(path: &Path) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        // dlopen resolves a bare name through the library search path; always pass a path.
        let full = if path.components().count() == 1 {
            Path::new(".").join(path)
        } else {
            path.to_path_buf()
        };
        // SAFETY: loading runs the library's initializers. Kiln libraries have none (they are
        // plain code and data linked with `cc -shared -nostdlib`); a foreign library is refused
        // below before any of its functions is called.
        let lib = unsafe { libloading::Library::new(&full) }
            .map_err(|e| LoadError::Open { path: shown.clone(), reason: e.to_string() })?;
        let not_kiln = |reason: String| LoadError::NotKiln { path: shown.clone(), reason };
        // SAFETY: the symbol is a data object of at least `size_of::<Header>()` bytes in a Kiln
        // library; its magic is checked before anything else is trusted.
        let header: &Header = unsafe {
            let sym = lib
                .get::<*const Header>(HEADER.as_bytes())
                .map_err(|e| not_kiln(format!("no {HEADER}: {e}")))?;
            &*(sym.try_as_raw_ptr().ok_or_else(|| not_kiln("null header".into()))? as *const Header)
        };
        if header.magic != MAGIC {
            return Err(not_kiln("bad magic".into()));
        }
        if header.abi_version != ABI_VERSION {
            return Err(LoadError::AbiMismatch {
                path: shown,
                found: header.abi_version,
                expected: ABI_VERSION,
            });
        }
        if header.entry_size as usize != ENTRY_SIZE {
            return Err(not_kiln(format!("entry size {}", header.entry_size)));
        }
        // SAFETY: as for the header; the index holds `count` entries of ENTRY_SIZE bytes.
        let index: &[u8] = unsafe {
            let sym = lib
                .get::<*const u8>(INDEX.as_bytes())
                .map_err(|e| not_kiln(format!("no {INDEX}: {e}")))?;
            let ptr =
                sym.try_as_raw_ptr().ok_or_else(|| not_kiln("null index".into()))? as *const u8;
            std::slice::from_raw_parts(ptr, header.count as usize * ENTRY_SIZE)
        };
        let mut functions = HashMap::default();
        for entry in index.chunks_exact(ENTRY_SIZE) {
            let hash = B256::from_slice(&entry[..32]);
            let spec_raw = u64::from_le_bytes(entry[32..40].try_into().expect("8 bytes"));
            let spec = SpecId::all()
                .find(|s| *s as u64 == spec_raw)
                .ok_or_else(|| not_kiln(format!("unknown fork id {spec_raw}")))?;
            let addr = usize::from_le_bytes(entry[40..48].try_into().expect("8 bytes"));
            if addr == 0 {
                return Err(not_kiln("null function pointer".into()));
            }
            // SAFETY: the linker resolved this slot to a function compiled with
            // `native_signature`, which is `NativeFn`'s C ABI, for this ABI version.
            let f = unsafe { std::mem::transmute::<usize, NativeFn>(addr) };
            functions.insert((hash, spec), f);
        }
        Ok(Self { _lib: lib, functions })
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
    fn lookup(&mut self, code: &AnalyzedCode, spec: SpecId) -> Option<NativeFn> {
        let hash = if code.hash() == B256::ZERO { keccak256(code.bytes()) } else { code.hash() };
        self.get(hash, spec)
    }
}
