//! IR types.

use ruint::aliases::U256;

/// An SSA value. Values are defined once, by an instruction of the block that uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

/// An index into [`Function::blocks`].
pub type BlockId = usize;

/// What an instruction computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstKind {
    /// A constant (PUSH, PC, folded arithmetic).
    Const(U256),
    /// The stack item `depth` below the top at block entry (0 is the top).
    Input(u16),
    /// An EVM opcode applied to `args` (top of the stack first). Code generation inlines what
    /// it can and calls the runtime for the rest.
    Op(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inst {
    pub kind: InstKind,
    pub args: Vec<Value>,
    pub result: Option<Value>,
    /// Stack height relative to block entry before the instruction pops its arguments: where
    /// a runtime call finds its operands (`entry + sp - 1` is the top).
    pub sp: i32,
    /// Bytecode offset of the instruction this came from.
    pub pc: u32,
}

/// Static gas charged before instruction `at` of the block runs: the sum over instructions
/// up to the section's end. Sections end where remaining gas is observable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GasSection {
    pub at: usize,
    pub gas: u64,
}

/// A jump destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Known at compile time: the block starting at that JUMPDEST.
    Block(BlockId),
    /// Computed at run time; looked up in the dense pc → block table.
    Dynamic(Value),
    /// A constant that is not a JUMPDEST: an exceptional halt when taken.
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminator {
    Jump(Target),
    /// Jump to `target` if `cond` is non-zero, else continue at `fallthrough`.
    JumpI {
        cond: Value,
        target: Target,
        fallthrough: BlockId,
    },
    /// Continue at the next block (it starts at a JUMPDEST, or resumes after a call).
    FallThrough(BlockId),
    /// STOP.
    Stop,
    /// The last instruction ended the frame (RETURN, REVERT, SELFDESTRUCT): the runtime
    /// reported the status.
    Exit,
    /// INVALID or an opcode undefined in this fork.
    InvalidOpcode,
    /// The last instruction (CALL*, CREATE*) suspends the frame; it resumes at `resume`,
    /// with the callee's result pushed on the stack by the runtime.
    Suspend {
        resume: BlockId,
    },
    /// The code from `pc` on is not compiled (no run reached it before the compile, see
    /// [`crate::passes::uncovered`]): the frame writes its stack and gas to the context and
    /// continues in the interpreter at `pc`.
    Interpret {
        pc: u32,
    },
}

impl Terminator {
    /// The successor of an unconditional static edge (a jump to a known block, or falling
    /// through), which passes may move gas across.
    pub fn unconditional(&self) -> Option<BlockId> {
        match *self {
            Terminator::FallThrough(s) | Terminator::Jump(Target::Block(s)) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Offset of the first instruction.
    pub pc: u32,
    /// The block begins at a valid JUMPDEST (a dynamic jump may land here).
    pub is_jumpdest: bool,
    /// The block is where a suspended frame resumes; its index among resume points.
    pub resume_index: Option<u32>,
    pub insts: Vec<Inst>,
    pub sections: Vec<GasSection>,
    /// Entry stack items the block reads or pops (height required at entry).
    pub stack_in: u16,
    /// Most the stack grows above its entry height.
    pub stack_growth: u16,
    /// The stack at exit, bottom first, starting `stack_in` below the entry top.
    pub exit: Vec<Value>,
    pub term: Terminator,
    /// Gas of the unconditional successor's entry section that this block's last section
    /// already charges (0: none): the edge enters the successor past that charge (see
    /// [`crate::passes::prepay_gas`]).
    pub prepaid: u64,
}

impl Block {
    /// Net change of the stack height.
    pub fn stack_delta(&self) -> i32 {
        self.exit.len() as i32 - self.stack_in as i32
    }

    /// Total static gas of the block.
    pub fn gas(&self) -> u64 {
        self.sections.iter().map(|s| s.gas).sum()
    }

    pub fn successors(&self) -> Vec<BlockId> {
        let target = |t: &Target| match t {
            Target::Block(b) => Some(*b),
            _ => None,
        };
        match &self.term {
            Terminator::Jump(t) => target(t).into_iter().collect(),
            Terminator::JumpI { target: t, fallthrough, .. } => {
                target(t).into_iter().chain(Some(*fallthrough)).collect()
            }
            Terminator::FallThrough(b) | Terminator::Suspend { resume: b } => vec![*b],
            Terminator::Stop
            | Terminator::Exit
            | Terminator::InvalidOpcode
            | Terminator::Interpret { .. } => vec![],
        }
    }

    pub fn has_dynamic_jump(&self) -> bool {
        matches!(
            self.term,
            Terminator::Jump(Target::Dynamic(_))
                | Terminator::JumpI { target: Target::Dynamic(_), .. }
        )
    }
}

/// A contract's code as IR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub blocks: Vec<Block>,
    /// Values are numbered function-wide.
    pub num_values: u32,
    /// Length of the bytecode (dynamic jumps at or past it are invalid).
    pub code_len: usize,
    /// Blocks starting at each JUMPDEST, in code order: the dense table dynamic jumps index
    /// with a JUMPDEST's rank. `None` where the block was removed as unreachable.
    pub jumpdests: Vec<Option<BlockId>>,
    /// Gas a dynamic jump to each JUMPDEST pays before entering its block: non-zero where a run
    /// of empty JUMPDEST blocks was bypassed (see [`crate::passes::jumpdest_chains`]).
    pub jumpdest_gas: Vec<u64>,
    /// Resume blocks in resume-index order.
    pub resumes: Vec<BlockId>,
}

impl Function {
    /// Whether any block jumps to a computed target.
    pub fn has_dynamic_jumps(&self) -> bool {
        self.blocks.iter().any(Block::has_dynamic_jump)
    }

    /// Per block: some path reaches it from the entry, from one of `roots`, or (when a block
    /// jumps to a computed target, which may be any JUMPDEST) from a JUMPDEST.
    pub fn reachable(&self, roots: &[BlockId]) -> Vec<bool> {
        let mut live = vec![false; self.blocks.len()];
        if self.blocks.is_empty() {
            return live;
        }
        let mut work = vec![0];
        work.extend_from_slice(roots);
        if self.has_dynamic_jumps() {
            work.extend(self.jumpdests.iter().flatten().copied());
        }
        while let Some(b) = work.pop() {
            if b < live.len() && !std::mem::replace(&mut live[b], true) {
                work.extend(self.blocks[b].successors());
            }
        }
        live
    }
}
