//! Calls into the runtime: builtin signatures from their declaration, one call sequence
//! through the context's table, and `exec_op` for instructions compiled code does not inline.

use super::*;

/// The calling convention of the builtin table's entries.
pub(super) fn builtin_call_conv(call_conv: CallConv) -> CallConv {
    if kiln_runtime::builtins::BUILTINS_PRESERVE_ALL {
        CallConv::PreserveAll
    } else {
        call_conv
    }
}

/// The signature of a builtin table entry, from its declaration.
pub(super) fn builtin_signature(builtin: Builtin, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(builtin_call_conv(call_conv));
    for param in builtin.params() {
        let ty = match param {
            AbiType::Ptr | AbiType::U64 => types::I64,
            AbiType::U32 => types::I32,
        };
        sig.params.push(AbiParam::new(ty));
    }
    sig
}

impl super::Lower<'_, '_> {
    /// Calls `builtin` through the context's table with `args`, in its declared order.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) {
        debug_assert_eq!(args.len(), builtin.params().len(), "{}", builtin.name());
        let table = self.load_ctx(types::I64, offsets::BUILTINS);
        let callee = self.b.ins().load(types::I64, flags(), table, builtin.offset());
        let sig = self.builtin_sigs[builtin as usize];
        self.b.ins().call_indirect(sig, callee, args);
    }

    /// Calls the runtime for `opcode` with `args` (top first) at relative height `sp`.
    /// Returns the status; the result, if any, is left on top of the memory stack.
    pub(super) fn runtime_call(
        &mut self,
        opcode: u8,
        args: &[kiln_ir::Value],
        sp: i32,
        len: Value,
    ) -> Value {
        self.record_height(self.cur.entry + sp);
        let top = self.add_imm(len, sp as i64);
        for (i, a) in args.iter().enumerate() {
            let w = self.word(*a);
            let (frame, at) = self.slot(self.cur.entry + sp - i as i32 - 1);
            self.store_word_for_runtime(frame, at, w);
        }
        self.store_ctx(top, offsets::STACK_LEN);
        self.cur.synced = self.cur.synced.min(self.cur.entry + sp - args.len() as i32);
        let g = self.b.use_var(self.gas);
        self.store_ctx(g, offsets::GAS);
        let opv = self.b.ins().iconst(types::I32, opcode as i64);
        let (ctx, host) = (self.ctx(), self.host());
        self.call_builtin_for_status(Builtin::ExecOp, &[ctx, host, opv])
    }

    /// Calls `builtin`, which charges gas and reports a status, after the caller stored the
    /// gas: takes the gas back into its variable and returns the status.
    pub(super) fn call_builtin_for_status(&mut self, builtin: Builtin, args: &[Value]) -> Value {
        self.call_builtin(builtin, args);
        let status = self.load_ctx(types::I8, offsets::BUILTIN_STATUS);
        let g = self.load_ctx(types::I64, offsets::GAS);
        self.b.def_var(self.gas, g);
        status
    }

    /// A runtime call that continues on success, with its result read back.
    pub(super) fn runtime_op(
        &mut self,
        inst: &kiln_ir::Inst,
        opcode: u8,
        len: Value,
    ) -> Option<Word> {
        let status = self.runtime_call(opcode, &inst.args, inst.sp, len);
        self.continue_unless_halted(status);
        inst.result.map(|_| {
            let (frame, at) = self.slot(self.cur.entry + inst.sp - inst.args.len() as i32);
            self.load_word_at(frame, at)
        })
    }

    /// Leaves through the exit when `status` (a builtin's) is not `Continue`, else goes on in
    /// a block of its own, laid out cold when the current one is.
    pub(super) fn continue_unless_halted(&mut self, status: Value) {
        let cont = self.b.create_block();
        let here = self.b.current_block().expect("inside a block");
        if self.b.func.layout.is_cold(here) {
            self.b.set_cold_block(cont);
        }
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(status)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// The scratch slot's address, with `x` and `y` stored in it (eight limbs): how builtins
    /// that touch no frame state take two words and hand one back.
    pub(super) fn scratch_words(&mut self, x: Word, y: Word) -> Value {
        let slot = *self.scratch.get_or_insert_with(|| {
            let data = StackSlotData::new(StackSlotKind::ExplicitSlot, 64, 3);
            self.b.create_sized_stack_slot(data)
        });
        let addr = self.b.ins().stack_addr(types::I64, slot, 0);
        for (i, &limb) in x.iter().chain(y.iter()).enumerate() {
            self.b.ins().store(flags(), limb, addr, i as i32 * 8);
        }
        addr
    }
}
