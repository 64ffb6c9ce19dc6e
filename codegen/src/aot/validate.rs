//! Checks an AOT library's bytes before the dynamic loader sees them.
//!
//! dlopen trusts its file. A segment that reaches past the end of a truncated file is mapped
//! all the same, and the loader's first touch of it is a SIGBUS; a corrupt hash table,
//! dynamic entry or relocation sends it to wild addresses; start-up code runs before the
//! caller can look at anything. So what glibc's loader reads while mapping, relocating and
//! looking up the two Kiln symbols is checked here against the file first, and so are the
//! Kiln header and index. A file that passes is loaded without the loader touching a byte
//! outside it, runs none of its own code, and has nothing relocated but the index's function
//! addresses, each of which lands in an executable segment.
//!
//! Kiln links its libraries with `-nostdlib` (see `AotCompiler::write_library`), so their
//! shape is narrow: load segments, one dynamic section naming a symbol table, a string table,
//! a hash table and RELATIVE relocations; no imports, dependencies, initializers or
//! thread-local storage. Anything outside that shape is refused rather than reasoned about.

use super::{ENTRY_SIZE, HEADER, HEADER_SIZE, INDEX, MAGIC};
use alloy_primitives::B256;
use kiln_frontend::SpecId;
use kiln_runtime::context::ABI_VERSION;
use object::elf;
use object::read::elf::{FileHeader as _, NoteIterator, ProgramHeader as _, Sym as _};
use object::{LittleEndian as LE, Pod, U32, U64};

type Ehdr = elf::FileHeader64<LE>;
type Phdr = elf::ProgramHeader64<LE>;
type Sym = elf::Sym64<LE>;

/// The ELF machine of this host and the relocation type that adds the load address.
#[cfg(target_arch = "x86_64")]
const HOST: Option<(u16, u32)> = Some((elf::EM_X86_64, elf::R_X86_64_RELATIVE));
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
const HOST: Option<(u16, u32)> = Some((elf::EM_AARCH64, elf::R_AARCH64_RELATIVE));
#[cfg(not(any(target_arch = "x86_64", all(target_arch = "aarch64", target_endian = "little"))))]
const HOST: Option<(u16, u32)> = None;

/// The most address space the loader is allowed to reserve for one library. Kiln libraries
/// are a few megabytes at most; a flipped size field should not reserve terabytes.
const MAX_SPAN: u64 = 1 << 32;

const PHDR_SIZE: u64 = size_of::<Phdr>() as u64;
const SHDR_SIZE: u64 = size_of::<elf::SectionHeader64<LE>>() as u64;
const SYM_SIZE: u64 = size_of::<Sym>() as u64;
const RELA_SIZE: u64 = size_of::<elf::Rela64<LE>>() as u64;
const DYN_SIZE: u64 = size_of::<elf::Dyn64<LE>>() as u64;
/// Where an entry's function address sits within it (after the code hash and the fork).
const FUNCTION_AT: u64 = 40;

/// Why a file is refused.
#[derive(Debug)]
pub(super) enum Refusal {
    /// Malformed: truncated, out of bounds, inconsistent.
    Corrupt(String),
    /// Well-formed, but not a library of the shape Kiln links.
    NotKiln(String),
    /// A Kiln library for another ABI version.
    Abi(u32),
}

fn corrupt(reason: impl Into<String>) -> Refusal {
    Refusal::Corrupt(reason.into())
}

fn not_kiln(reason: impl Into<String>) -> Refusal {
    Refusal::NotKiln(reason.into())
}

/// What a library that passed holds, as addresses relative to its load base.
#[derive(Debug)]
pub(super) struct Layout {
    pub header_vaddr: u64,
    pub header: [u8; HEADER_SIZE],
    pub index_vaddr: u64,
    /// The index as it is in the file; the function addresses are the entries' `function`.
    pub index: Vec<u8>,
    pub entries: Vec<Entry>,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub hash: B256,
    pub spec: SpecId,
    /// The function's address relative to the load base.
    pub function: u64,
}

/// Checks `data`, the whole file, for a system with pages of `page` bytes.
pub(super) fn validate(data: &[u8], page: u64) -> Result<Layout, Refusal> {
    let Some((machine, relative)) = HOST else {
        return Err(not_kiln("AOT libraries cannot be loaded on this architecture"));
    };
    let eh = file_header(data, machine)?;
    section_headers(eh, data)?;
    let phdrs =
        eh.program_headers(LE, data).map_err(|e| corrupt(format!("program header table: {e}")))?;
    let image = segments(eh, phdrs, data, page)?;
    let dynamic = image.dynamic(phdrs)?;
    let symbols = Symbols::new(&image, &dynamic)?;

    let header_sym = symbols.lookup(HEADER)?;
    let header_vaddr = header_sym.st_value(LE);
    if header_sym.st_size(LE) < HEADER_SIZE as u64 {
        return Err(corrupt(format!("{HEADER} is {} bytes", header_sym.st_size(LE))));
    }
    let mut header = [0u8; HEADER_SIZE];
    header.copy_from_slice(image.bytes(header_vaddr, HEADER_SIZE as u64, HEADER)?);
    if u64::from_le_bytes(word(&header, 0)) != MAGIC {
        return Err(not_kiln("bad magic"));
    }
    let abi = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if abi != ABI_VERSION {
        return Err(Refusal::Abi(abi));
    }
    let entry_size = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes"));
    if entry_size as usize != ENTRY_SIZE {
        return Err(not_kiln(format!("entry size {entry_size}")));
    }
    let count = u64::from_le_bytes(word(&header, 16));

    let index_sym = symbols.lookup(INDEX)?;
    let index_vaddr = index_sym.st_value(LE);
    let index_size = count
        .checked_mul(ENTRY_SIZE as u64)
        .filter(|&size| size <= index_sym.st_size(LE))
        .ok_or_else(|| {
            corrupt(format!(
                "the header counts {count} entries but {INDEX} is {} bytes",
                index_sym.st_size(LE)
            ))
        })?;
    let index = image.bytes(index_vaddr, index_size, INDEX)?;
    if header_vaddr < index_vaddr.saturating_add(index_size)
        && index_vaddr < header_vaddr.saturating_add(HEADER_SIZE as u64)
    {
        return Err(corrupt(format!("{HEADER} and {INDEX} overlap")));
    }

    dynamic.check_shape(&symbols)?;
    let functions =
        dynamic.relocated_functions(&image, relative, index_vaddr, count, index_size)?;

    let mut entries = Vec::with_capacity(functions.len());
    for (i, (entry, function)) in index.chunks_exact(ENTRY_SIZE).zip(functions).enumerate() {
        let spec_raw = u64::from_le_bytes(word(entry, 32));
        let spec = SpecId::all()
            .find(|s| *s as u64 == spec_raw)
            .ok_or_else(|| not_kiln(format!("unknown fork id {spec_raw}")))?;
        let function = function.ok_or_else(|| {
            corrupt(format!("index entry {i}'s function address has no relocation"))
        })?;
        if !image.loads.iter().any(|l| l.flags & elf::PF_X != 0 && l.holds(function, 1)) {
            return Err(corrupt(format!(
                "index entry {i}'s function address {function:#x} is not in the file bytes of \
                 an executable segment"
            )));
        }
        entries.push(Entry { hash: B256::from_slice(&entry[..32]), spec, function });
    }
    Ok(Layout { header_vaddr, header, index_vaddr, index: index.to_vec(), entries })
}

fn word(bytes: &[u8], at: usize) -> [u8; 8] {
    bytes[at..at + 8].try_into().expect("8 bytes")
}

fn file_header(data: &[u8], machine: u16) -> Result<&Ehdr, Refusal> {
    if data.get(..4) != Some(&elf::ELFMAG[..]) {
        return Err(corrupt(format!("not an ELF file ({} bytes, no ELF magic)", data.len())));
    }
    if data.len() < size_of::<Ehdr>() {
        return Err(corrupt(format!(
            "truncated: {} bytes is shorter than an ELF header",
            data.len()
        )));
    }
    // e_ident: the magic, then class, data encoding and version bytes.
    let (class, encoding, version) = (data[4], data[5], data[6]);
    if class != elf::ELFCLASS64 {
        return Err(corrupt("not a 64-bit ELF file"));
    }
    if encoding != elf::ELFDATA2LSB {
        return Err(corrupt("not a little-endian ELF file"));
    }
    if version != elf::EV_CURRENT {
        return Err(corrupt(format!("ELF version {version}")));
    }
    let eh = Ehdr::parse(data).map_err(|e| corrupt(format!("ELF header: {e}")))?;
    let os_abi = eh.e_ident().os_abi;
    if os_abi != elf::ELFOSABI_NONE && os_abi != elf::ELFOSABI_GNU {
        return Err(corrupt(format!("ELF OS ABI {os_abi}")));
    }
    if eh.e_type(LE) != elf::ET_DYN {
        return Err(corrupt(format!("not a shared object (ELF type {})", eh.e_type(LE))));
    }
    if eh.e_machine(LE) != machine {
        return Err(corrupt(format!(
            "built for ELF machine {}, this host is {machine}",
            eh.e_machine(LE)
        )));
    }
    if eh.e_version(LE) != u32::from(elf::EV_CURRENT) {
        return Err(corrupt(format!("ELF version {}", eh.e_version(LE))));
    }
    if u64::from(eh.e_ehsize(LE)) != size_of::<Ehdr>() as u64 {
        return Err(corrupt(format!("ELF header size {}", eh.e_ehsize(LE))));
    }
    if u64::from(eh.e_phentsize(LE)) != PHDR_SIZE {
        return Err(corrupt(format!("program header size {}", eh.e_phentsize(LE))));
    }
    let phnum = eh.e_phnum(LE);
    if phnum == 0 || phnum == elf::PN_XNUM {
        return Err(corrupt(format!("{phnum} program headers")));
    }
    table_in_file(data, "program header table", eh.e_phoff(LE), phnum.into(), PHDR_SIZE)?;
    Ok(eh)
}

/// Checks that `count` entries of `size` bytes from `offset` lie within the file.
fn table_in_file(
    data: &[u8],
    what: &str,
    offset: u64,
    count: u64,
    size: u64,
) -> Result<(), Refusal> {
    let end = count.checked_mul(size).and_then(|bytes| offset.checked_add(bytes));
    match end {
        Some(end) if end <= data.len() as u64 => Ok(()),
        _ => Err(corrupt(format!(
            "{what} ({count} entries of {size} bytes at offset {offset:#x}) runs past the end of \
             the {}-byte file",
            data.len()
        ))),
    }
}

/// The loader ignores section headers, but a table that runs off the end of the file is the
/// surest sign of truncation: linkers put it last.
fn section_headers(eh: &Ehdr, data: &[u8]) -> Result<(), Refusal> {
    let (shoff, shnum) = (eh.e_shoff(LE), eh.e_shnum(LE));
    if shoff == 0 && shnum == 0 {
        return Ok(());
    }
    if shoff == 0 || shnum == 0 {
        return Err(corrupt(format!("{shnum} section headers at offset {shoff:#x}")));
    }
    if u64::from(eh.e_shentsize(LE)) != SHDR_SIZE {
        return Err(corrupt(format!("section header size {}", eh.e_shentsize(LE))));
    }
    table_in_file(data, "section header table", shoff, shnum.into(), SHDR_SIZE)?;
    if eh.e_shstrndx(LE) >= shnum {
        return Err(corrupt(format!("section name table index {}", eh.e_shstrndx(LE))));
    }
    let sections =
        eh.section_headers(LE, data).map_err(|e| corrupt(format!("section header table: {e}")))?;
    for (i, s) in sections.iter().enumerate() {
        let (ty, offset, size) = (s.sh_type.get(LE), s.sh_offset.get(LE), s.sh_size.get(LE));
        if ty != elf::SHT_NOBITS && ty != elf::SHT_NULL {
            let end = offset.checked_add(size).filter(|&end| end <= data.len() as u64);
            if end.is_none() {
                return Err(corrupt(format!(
                    "section {i} (bytes {offset:#x}..{:#x}) runs past the end of the {}-byte file",
                    offset.wrapping_add(size),
                    data.len()
                )));
            }
        }
    }
    Ok(())
}

fn align_down(x: u64, page: u64) -> u64 {
    x & !(page - 1)
}

fn align_up(x: u64, page: u64) -> Option<u64> {
    Some(x.checked_add(page - 1)? & !(page - 1))
}

fn segment_name(ty: u32) -> String {
    match ty {
        elf::PT_LOAD => "PT_LOAD".into(),
        elf::PT_DYNAMIC => "PT_DYNAMIC".into(),
        elf::PT_INTERP => "PT_INTERP".into(),
        elf::PT_NOTE => "PT_NOTE".into(),
        elf::PT_PHDR => "PT_PHDR".into(),
        elf::PT_TLS => "PT_TLS".into(),
        elf::PT_GNU_EH_FRAME => "PT_GNU_EH_FRAME".into(),
        elf::PT_GNU_STACK => "PT_GNU_STACK".into(),
        elf::PT_GNU_RELRO => "PT_GNU_RELRO".into(),
        elf::PT_GNU_PROPERTY => "PT_GNU_PROPERTY".into(),
        _ => format!("type {ty:#x}"),
    }
}

/// A PT_LOAD segment.
#[derive(Clone, Copy, Debug)]
struct Load {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    flags: u32,
}

impl Load {
    /// Whether `[vaddr, vaddr + size)` lies in the file-backed part of this segment.
    fn holds(&self, vaddr: u64, size: u64) -> bool {
        vaddr
            .checked_sub(self.vaddr)
            .is_some_and(|rel| rel <= self.filesz && size <= self.filesz - rel)
    }
}

/// The file and its load segments: addresses as the loader sees them, mapped back to bytes.
struct Image<'a> {
    data: &'a [u8],
    loads: Vec<Load>,
}

impl<'a> Image<'a> {
    /// The load segment whose file bytes hold `[vaddr, vaddr + size)`, and the file offset
    /// of `vaddr`.
    fn locate(&self, vaddr: u64, size: u64) -> Option<(&Load, u64)> {
        let load = self.loads.iter().find(|l| l.holds(vaddr, size))?;
        Some((load, load.offset + (vaddr - load.vaddr)))
    }

    fn bytes(&self, vaddr: u64, size: u64, what: &str) -> Result<&'a [u8], Refusal> {
        let (_, offset) = self.locate(vaddr, size).ok_or_else(|| {
            corrupt(format!(
                "{what} ({size} bytes at address {vaddr:#x}) is not within the file bytes of a \
                 load segment"
            ))
        })?;
        // Every load segment's file bytes were checked to lie within `data`.
        Ok(&self.data[offset as usize..(offset + size) as usize])
    }

    fn slice<T: Pod>(&self, vaddr: u64, count: u64, what: &str) -> Result<&'a [T], Refusal> {
        let size = count
            .checked_mul(size_of::<T>() as u64)
            .ok_or_else(|| corrupt(format!("{what}: {count} entries")))?;
        let bytes = self.bytes(vaddr, size, what)?;
        object::slice_from_bytes(bytes, count as usize)
            .map(|(slice, _)| slice)
            .map_err(|()| corrupt(format!("{what} at address {vaddr:#x} is misaligned")))
    }

    /// Reads the dynamic section, which `segments` has placed inside a writable load segment.
    fn dynamic(&self, phdrs: &[Phdr]) -> Result<Dynamic, Refusal> {
        let ph = phdrs
            .iter()
            .find(|ph| ph.p_type(LE) == elf::PT_DYNAMIC)
            .ok_or_else(|| corrupt("no dynamic section"))?;
        let entries: &[elf::Dyn64<LE>] =
            self.slice(ph.p_vaddr(LE), ph.p_filesz(LE) / DYN_SIZE, "dynamic section")?;
        let mut tags: Vec<(i64, u64)> = Vec::new();
        for d in entries {
            let (tag, val) = (d.d_tag.get(LE), d.d_val.get(LE));
            if tag == elf::DT_NULL {
                return Ok(Dynamic { tags });
            }
            // The loader keeps the last of a repeated tag; which one that is should not matter.
            if tags.iter().any(|&(t, _)| t == tag) {
                return Err(corrupt(format!("dynamic entry {tag:#x} appears twice")));
            }
            tags.push((tag, val));
        }
        Err(corrupt("the dynamic section has no terminating DT_NULL entry"))
    }
}

/// Checks the program headers: everything the loader maps or reads lies within the file.
fn segments<'a>(
    eh: &Ehdr,
    phdrs: &[Phdr],
    data: &'a [u8],
    page: u64,
) -> Result<Image<'a>, Refusal> {
    let len = data.len() as u64;
    let mut loads: Vec<Load> = Vec::new();
    for (i, ph) in phdrs.iter().enumerate() {
        let ty = ph.p_type(LE);
        let (offset, filesz, memsz) = (ph.p_offset(LE), ph.p_filesz(LE), ph.p_memsz(LE));
        let (vaddr, align, flags) = (ph.p_vaddr(LE), ph.p_align(LE), ph.p_flags(LE));
        let what = || format!("program header {i} ({})", segment_name(ty));
        if offset.checked_add(filesz).is_none_or(|end| end > len) {
            return Err(corrupt(format!(
                "{} covers file bytes {offset:#x}..{:#x}, past the end of the {len}-byte file",
                what(),
                offset.wrapping_add(filesz)
            )));
        }
        if filesz > memsz {
            return Err(corrupt(format!("{}: {filesz} file bytes but {memsz} in memory", what())));
        }
        if vaddr.checked_add(memsz).is_none() {
            return Err(corrupt(format!("{}: address range overflows", what())));
        }
        match ty {
            elf::PT_LOAD => {
                if memsz == 0 {
                    return Err(corrupt(format!("{} is empty", what())));
                }
                if !align.is_power_of_two() || align < page {
                    return Err(corrupt(format!("{}: alignment {align:#x}", what())));
                }
                if vaddr % align != offset % align {
                    return Err(corrupt(format!(
                        "{}: address {vaddr:#x} and file offset {offset:#x} disagree modulo the \
                         alignment {align:#x}",
                        what()
                    )));
                }
                if flags & !(elf::PF_R | elf::PF_W | elf::PF_X) != 0 {
                    return Err(corrupt(format!("{}: flags {flags:#x}", what())));
                }
                // Code past the file bytes would be zeros, not code.
                if flags & elf::PF_X != 0 && filesz != memsz {
                    return Err(corrupt(format!(
                        "{} is executable but partly zero-filled",
                        what()
                    )));
                }
                // Each segment is mapped over whole pages; a page shared by two segments would
                // take only one's protection (code made non-executable, or data read-only).
                if let Some(prev) = loads.last() {
                    let prev_end = align_up(prev.vaddr + prev.memsz, page);
                    if prev_end.is_none_or(|end| end > align_down(vaddr, page)) {
                        return Err(corrupt(format!(
                            "{} overlaps or precedes the page of the load segment before it",
                            what()
                        )));
                    }
                }
                loads.push(Load { vaddr, memsz, offset, filesz, flags });
            }
            elf::PT_TLS => return Err(not_kiln("it has thread-local storage")),
            elf::PT_GNU_STACK if flags & elf::PF_X != 0 => {
                return Err(not_kiln("it asks for an executable stack"));
            }
            _ => {}
        }
    }
    let (Some(first), Some(last)) = (loads.first(), loads.last()) else {
        return Err(corrupt("no load segments"));
    };
    let span =
        align_up(last.vaddr + last.memsz, page).map(|end| end - align_down(first.vaddr, page));
    if span.is_none_or(|span| span > MAX_SPAN) {
        return Err(corrupt("the load segments span more than 4 GiB"));
    }
    let image = Image { data, loads };

    let mut dynamics = 0;
    for (i, ph) in phdrs.iter().enumerate() {
        let ty = ph.p_type(LE);
        let (offset, filesz, memsz) = (ph.p_offset(LE), ph.p_filesz(LE), ph.p_memsz(LE));
        let vaddr = ph.p_vaddr(LE);
        let what = || format!("program header {i} ({})", segment_name(ty));
        match ty {
            // The loader reads these at their addresses once the file is mapped.
            elf::PT_DYNAMIC
            | elf::PT_NOTE
            | elf::PT_GNU_PROPERTY
            | elf::PT_GNU_EH_FRAME
            | elf::PT_PHDR => {
                let located = image.locate(vaddr, filesz);
                let Some((load, at)) = located.filter(|&(_, at)| at == offset && filesz == memsz)
                else {
                    return Err(corrupt(format!(
                        "{} is not in the file bytes of a load segment at its file offset",
                        what()
                    )));
                };
                if ty == elf::PT_DYNAMIC {
                    dynamics += 1;
                    // glibc adjusts the dynamic entries in place by the load address.
                    if load.flags & elf::PF_W == 0 {
                        return Err(corrupt(format!("{} is in a read-only segment", what())));
                    }
                    if filesz == 0 || filesz % DYN_SIZE != 0 {
                        return Err(corrupt(format!("{}: {filesz} bytes", what())));
                    }
                }
                if ty == elf::PT_NOTE || ty == elf::PT_GNU_PROPERTY {
                    let bytes = &data[at as usize..(at + filesz) as usize];
                    let bad = |e: object::Error| corrupt(format!("{}: {e}", what()));
                    let mut notes =
                        NoteIterator::<Ehdr>::new(LE, ph.p_align(LE), bytes).map_err(bad)?;
                    while notes.next().map_err(bad)?.is_some() {}
                }
                let phdr_table = u64::from(eh.e_phnum(LE)) * PHDR_SIZE;
                if ty == elf::PT_PHDR && (offset != eh.e_phoff(LE) || filesz != phdr_table) {
                    return Err(corrupt(format!(
                        "{} does not describe the program header table",
                        what()
                    )));
                }
            }
            // Made read-only after relocation: it must be data, all in one writable segment.
            elf::PT_GNU_RELRO => {
                let inside = image.loads.iter().any(|l| {
                    vaddr >= l.vaddr
                        && vaddr + memsz <= l.vaddr + l.memsz
                        && l.flags & elf::PF_W != 0
                        && l.flags & elf::PF_X == 0
                });
                if !inside {
                    return Err(corrupt(format!(
                        "{} is not inside a writable data segment",
                        what()
                    )));
                }
            }
            _ => {}
        }
    }
    if dynamics != 1 {
        return Err(corrupt(format!("{dynamics} dynamic sections")));
    }
    Ok(image)
}

/// The dynamic section's entries up to DT_NULL.
struct Dynamic {
    tags: Vec<(i64, u64)>,
}

impl Dynamic {
    fn get(&self, tag: i64) -> Option<u64> {
        self.tags.iter().find(|&&(t, _)| t == tag).map(|&(_, v)| v)
    }

    /// Refuses entries that would make the loader do more than map, relocate and look up:
    /// run code, load other libraries, resolve imports, check versions.
    fn check_shape(&self, symbols: &Symbols) -> Result<(), Refusal> {
        for &(tag, val) in &self.tags {
            match tag {
                elf::DT_HASH
                | elf::DT_GNU_HASH
                | elf::DT_STRTAB
                | elf::DT_SYMTAB
                | elf::DT_STRSZ
                | elf::DT_SYMENT
                | elf::DT_RELA
                | elf::DT_RELASZ
                | elf::DT_RELAENT
                | elf::DT_RELACOUNT
                | elf::DT_RELR
                | elf::DT_RELRSZ
                | elf::DT_RELRENT
                | elf::DT_BIND_NOW => {}
                elf::DT_SONAME => {
                    symbols.name_at(val, "the library's name")?;
                }
                elf::DT_FLAGS if val & !u64::from(elf::DF_BIND_NOW) == 0 => {}
                elf::DT_FLAGS_1 if val & !u64::from(elf::DF_1_NOW) == 0 => {}
                elf::DT_INIT
                | elf::DT_INIT_ARRAY
                | elf::DT_INIT_ARRAYSZ
                | elf::DT_PREINIT_ARRAY
                | elf::DT_PREINIT_ARRAYSZ
                | elf::DT_FINI
                | elf::DT_FINI_ARRAY
                | elf::DT_FINI_ARRAYSZ => {
                    return Err(not_kiln(
                        "it runs code of its own when loaded or unloaded (C start-up files); \
                         Kiln links its libraries without them: rebuild it with `kiln compile`",
                    ));
                }
                elf::DT_NEEDED => return Err(not_kiln("it depends on other libraries")),
                _ => return Err(not_kiln(format!("it has a dynamic entry of tag {tag:#x}"))),
            }
        }
        Ok(())
    }

    /// Checks the relocations, which may only set the index's function addresses, and
    /// returns each entry's function address relative to the load base.
    fn relocated_functions(
        &self,
        image: &Image,
        relative: u32,
        index_vaddr: u64,
        count: u64,
        index_size: u64,
    ) -> Result<Vec<Option<u64>>, Refusal> {
        let mut functions: Vec<Option<u64>> = vec![None; count as usize];
        if count > 0 {
            let writable = image
                .locate(index_vaddr, index_size)
                .is_some_and(|(l, _)| l.flags & elf::PF_W != 0);
            if !writable {
                return Err(corrupt(format!("{INDEX} is relocated but in a read-only segment")));
            }
        }
        let mut set = |addr: u64, value: u64| -> Result<(), Refusal> {
            let slot = addr
                .checked_sub(index_vaddr)
                .filter(|rel| {
                    rel % ENTRY_SIZE as u64 == FUNCTION_AT && rel / (ENTRY_SIZE as u64) < count
                })
                .map(|rel| (rel / ENTRY_SIZE as u64) as usize)
                .ok_or_else(|| {
                    corrupt(format!(
                        "a relocation at {addr:#x} is not one of {INDEX}'s function addresses"
                    ))
                })?;
            if functions[slot].replace(value).is_some() {
                return Err(corrupt(format!("index entry {slot} is relocated twice")));
            }
            Ok(())
        };

        let rela = (self.get(elf::DT_RELA), self.get(elf::DT_RELASZ), self.get(elf::DT_RELAENT));
        match rela {
            (None, None, None) if self.get(elf::DT_RELACOUNT).is_none() => {}
            // glibc asserts DT_RELAENT when DT_RELA is present: an abort, not an error.
            (Some(addr), Some(size), Some(RELA_SIZE)) if size % RELA_SIZE == 0 => {
                let n = size / RELA_SIZE;
                if self.get(elf::DT_RELACOUNT).is_some_and(|c| c > n) {
                    return Err(corrupt("DT_RELACOUNT exceeds the relocation count"));
                }
                // GNU ld leaves an empty DT_RELA at address 0 when it packs them all in DT_RELR.
                let relas: &[elf::Rela64<LE>] =
                    if n == 0 { &[] } else { image.slice(addr, n, "relocation table")? };
                for r in relas {
                    let (ty, sym) = (r.r_type(LE, false), r.r_sym(LE, false));
                    if ty != relative || sym != 0 {
                        return Err(not_kiln(format!(
                            "it has a relocation of type {ty} against symbol {sym}; Kiln \
                             libraries only relocate their index's function addresses"
                        )));
                    }
                    set(r.r_offset.get(LE), r.r_addend.get(LE) as u64)?;
                }
            }
            _ => return Err(corrupt("malformed DT_RELA/DT_RELASZ/DT_RELAENT entries")),
        }

        // Packed relative relocations: an even word is an address to relocate, an odd word a
        // bitmap of the 63 words after the last address. The addend is the word in the file.
        let relr = (self.get(elf::DT_RELR), self.get(elf::DT_RELRSZ), self.get(elf::DT_RELRENT));
        match relr {
            (None, None, None) => {}
            (Some(addr), Some(size), Some(8)) if size % 8 == 0 => {
                let words: &[U64<LE>] = image.slice(addr, size / 8, "packed relocation table")?;
                let mut set_in_file = |at: u64| -> Result<(), Refusal> {
                    let value =
                        u64::from_le_bytes(word(image.bytes(at, 8, "a relocated word")?, 0));
                    set(at, value)
                };
                let mut next: Option<u64> = None;
                for w in words {
                    let w = w.get(LE);
                    if w & 1 == 0 {
                        set_in_file(w)?;
                        next = w.checked_add(8);
                    } else {
                        let base = next.ok_or_else(|| {
                            corrupt("a packed relocation bitmap has no address before it")
                        })?;
                        for bit in 1..64 {
                            if (w >> bit) & 1 != 0 {
                                let at = base.checked_add((bit - 1) * 8).ok_or_else(|| {
                                    corrupt("a packed relocation runs past the address space")
                                })?;
                                set_in_file(at)?;
                            }
                        }
                        next = base.checked_add(63 * 8);
                    }
                }
            }
            _ => return Err(corrupt("malformed DT_RELR/DT_RELRSZ/DT_RELRENT entries")),
        }
        Ok(functions)
    }
}

/// The dynamic symbol table, its strings and the hash tables the loader looks names up in.
struct Symbols<'a> {
    syms: &'a [Sym],
    strtab: &'a [u8],
    gnu: Option<GnuHash<'a>>,
    sysv: Option<SysvHash<'a>>,
}

struct GnuHash<'a> {
    symoffset: u32,
    shift: u32,
    bloom: &'a [U64<LE>],
    buckets: &'a [U32<LE>],
    /// The chain values from `symoffset` up to the last symbol.
    chain: &'a [U32<LE>],
}

struct SysvHash<'a> {
    buckets: &'a [U32<LE>],
    chains: &'a [U32<LE>],
}

impl<'a> Symbols<'a> {
    fn new(image: &Image<'a>, dynamic: &Dynamic) -> Result<Self, Refusal> {
        let required =
            |tag: i64, name: &str| dynamic.get(tag).ok_or_else(|| corrupt(format!("no {name}")));
        let strsz = required(elf::DT_STRSZ, "DT_STRSZ")?;
        let strtab = image.bytes(required(elf::DT_STRTAB, "DT_STRTAB")?, strsz, "string table")?;
        let symtab = required(elf::DT_SYMTAB, "DT_SYMTAB")?;
        if dynamic.get(elf::DT_SYMENT).is_some_and(|size| size != SYM_SIZE) {
            return Err(corrupt("DT_SYMENT is not the size of a symbol"));
        }
        // The loader learns the table's length only from the hash tables; read as many
        // symbols as either can reach.
        let mut count = 0u64;
        let gnu = match dynamic.get(elf::DT_GNU_HASH) {
            Some(addr) => {
                let (table, n) = GnuHash::parse(image, addr)?;
                count = count.max(n);
                Some(table)
            }
            None => None,
        };
        let sysv = match dynamic.get(elf::DT_HASH) {
            Some(addr) => {
                let table = SysvHash::parse(image, addr)?;
                count = count.max(table.chains.len() as u64);
                Some(table)
            }
            None => None,
        };
        if gnu.is_none() && sysv.is_none() {
            return Err(corrupt("no symbol hash table"));
        }
        let syms = image.slice(symtab, count, "dynamic symbol table")?;
        let symbols = Self { syms, strtab, gnu, sysv };
        // Name comparisons in a lookup read from every symbol on the chain.
        for sym in syms {
            symbols.name_at(sym.st_name(LE).into(), "a symbol's name")?;
        }
        Ok(symbols)
    }

    /// The NUL-terminated string at `offset` in the string table.
    fn name_at(&self, offset: u64, what: &str) -> Result<&'a [u8], Refusal> {
        let rest = usize::try_from(offset).ok().and_then(|at| self.strtab.get(at..));
        rest.and_then(|rest| rest.iter().position(|&b| b == 0).map(|end| &rest[..end]))
            .ok_or_else(|| corrupt(format!("{what} is not a string in the string table")))
    }

    /// The one symbol named `name`, checked to be what dlsym will find for it.
    fn lookup(&self, name: &str) -> Result<&'a Sym, Refusal> {
        let mut found = None;
        for (i, sym) in self.syms.iter().enumerate() {
            if self.name_at(sym.st_name(LE).into(), "a symbol's name")? == name.as_bytes() {
                if found.is_some() {
                    return Err(corrupt(format!("two symbols named {name}")));
                }
                found = Some(i);
            }
        }
        let i = found.ok_or_else(|| not_kiln(format!("no {name} symbol")))?;
        let sym = &self.syms[i];
        let shndx = sym.st_shndx(LE);
        if sym.st_type() != elf::STT_OBJECT
            || sym.st_bind() != elf::STB_GLOBAL
            || sym.st_visibility() != elf::STV_DEFAULT
            || shndx == elf::SHN_UNDEF
            || shndx >= elf::SHN_LORESERVE
            || sym.st_value(LE) == 0
        {
            return Err(corrupt(format!("{name} is not a defined global data symbol")));
        }
        // glibc searches the GNU table when there is one, else the SysV one.
        let reached = match (&self.gnu, &self.sysv) {
            (Some(gnu), _) => gnu.reaches(name.as_bytes(), i),
            (None, Some(sysv)) => sysv.reaches(name.as_bytes(), i),
            (None, None) => false,
        };
        if !reached {
            return Err(corrupt(format!("the symbol hash table does not lead to {name}")));
        }
        Ok(sym)
    }
}

impl<'a> GnuHash<'a> {
    /// Parses the table and returns it with the symbol count it implies.
    fn parse(image: &Image<'a>, addr: u64) -> Result<(Self, u64), Refusal> {
        let header: &[elf::GnuHashHeader<LE>] = image.slice(addr, 1, "GNU hash table")?;
        let header = &header[0];
        let nbuckets = header.bucket_count.get(LE);
        let symoffset = header.symbol_base.get(LE);
        let nbloom = header.bloom_count.get(LE);
        let shift = header.bloom_shift.get(LE);
        // The loader divides by the bucket count and masks with the bloom size minus one.
        if nbuckets == 0 || !nbloom.is_power_of_two() || shift >= 64 {
            return Err(corrupt(format!(
                "GNU hash table with {nbuckets} buckets, {nbloom} bloom words, shift {shift}"
            )));
        }
        let bloom_at = addr + size_of::<elf::GnuHashHeader<LE>>() as u64;
        let bloom: &[U64<LE>] = image.slice(bloom_at, nbloom.into(), "GNU hash bloom filter")?;
        let buckets_at = bloom_at + 8 * u64::from(nbloom);
        let buckets: &[U32<LE>] = image.slice(buckets_at, nbuckets.into(), "GNU hash buckets")?;
        let chain_at = buckets_at + 4 * u64::from(nbuckets);
        let max = buckets.iter().map(|b| b.get(LE)).max().unwrap_or(0);
        if max == 0 {
            let table = Self { symoffset, shift, bloom, buckets, chain: &[] };
            return Ok((table, symoffset.into()));
        }
        if buckets.iter().any(|b| b.get(LE) != 0 && b.get(LE) < symoffset) {
            return Err(corrupt("a GNU hash bucket points below the hashed symbols"));
        }
        // The chain has no stated length: it ends at the end mark after the highest bucket's
        // start, and must do so within the segment.
        let (load, _) = image.locate(chain_at, 0).ok_or_else(|| corrupt("GNU hash chain"))?;
        let available = (load.vaddr + load.filesz - chain_at) / 4;
        let all: &[U32<LE>] = image.slice(chain_at, available, "GNU hash chain")?;
        let start = (max - symoffset) as usize;
        let end = all
            .get(start..)
            .and_then(|rest| rest.iter().position(|v| v.get(LE) & 1 != 0))
            .map(|at| start + at + 1)
            .ok_or_else(|| corrupt("the GNU hash chain runs off the end of its segment"))?;
        let table = Self { symoffset, shift, bloom, buckets, chain: &all[..end] };
        Ok((table, u64::from(symoffset) + end as u64))
    }

    /// Whether glibc's lookup of `name` walks to symbol `target`.
    fn reaches(&self, name: &[u8], target: usize) -> bool {
        let h = name.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(c.into()));
        let word = self.bloom[(h / 64) as usize & (self.bloom.len() - 1)].get(LE);
        if (word >> (h % 64)) & 1 == 0 || (word >> ((h >> self.shift) % 64)) & 1 == 0 {
            return false;
        }
        let mut i = self.buckets[h as usize % self.buckets.len()].get(LE) as usize;
        if i == 0 {
            return false;
        }
        while let Some(value) = self.chain.get(i - self.symoffset as usize) {
            let value = value.get(LE);
            if value | 1 == h | 1 && i == target {
                return true;
            }
            if value & 1 != 0 {
                return false;
            }
            i += 1;
        }
        false
    }
}

impl<'a> SysvHash<'a> {
    fn parse(image: &Image<'a>, addr: u64) -> Result<Self, Refusal> {
        let header: &[elf::HashHeader<LE>] = image.slice(addr, 1, "SysV hash table")?;
        let nbuckets = header[0].bucket_count.get(LE);
        let nchains = header[0].chain_count.get(LE);
        if nbuckets == 0 {
            return Err(corrupt("SysV hash table with no buckets"));
        }
        let buckets_at = addr + size_of::<elf::HashHeader<LE>>() as u64;
        let buckets: &[U32<LE>] = image.slice(buckets_at, nbuckets.into(), "SysV hash buckets")?;
        let chains_at = buckets_at + 4 * u64::from(nbuckets);
        let chains: &[U32<LE>] = image.slice(chains_at, nchains.into(), "SysV hash chains")?;
        if buckets.iter().chain(chains).any(|v| v.get(LE) >= nchains) {
            return Err(corrupt("a SysV hash entry points past the symbol table"));
        }
        // A chain that loops would make a failed lookup spin forever.
        let mut state = vec![0u8; chains.len()]; // 0 unseen, 1 on the current walk, 2 ends
        for start in 0..chains.len() {
            let mut walk = Vec::new();
            let mut i = start;
            while i != 0 && state[i] == 0 {
                state[i] = 1;
                walk.push(i);
                i = chains[i].get(LE) as usize;
            }
            if i != 0 && state[i] == 1 {
                return Err(corrupt("a SysV hash chain loops"));
            }
            for i in walk {
                state[i] = 2;
            }
        }
        Ok(Self { buckets, chains })
    }

    fn reaches(&self, name: &[u8], target: usize) -> bool {
        let h = name.iter().fold(0u32, |h, &c| {
            let h = (h << 4).wrapping_add(c.into());
            let g = h & 0xf000_0000;
            (h ^ (g >> 24)) & !g
        });
        let mut i = self.buckets[h as usize % self.buckets.len()].get(LE) as usize;
        for _ in 0..self.chains.len() {
            if i == 0 {
                return false;
            }
            if i == target {
                return true;
            }
            i = self.chains[i].get(LE) as usize;
        }
        false
    }
}
