//! CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2: price the call, then suspend the
//! frame with an [`Action`] for the runtime's frame loop to run.

use crate::context::{
    Action, CallInputs, CallKind, Context, CreateInputs, CreateScheme, OpResult, Status,
};
use crate::gas;
use crate::host::Host;
use alloy_primitives::{Address, Bytes, B256, U256};

pub fn call(ctx: &mut Context, host: &mut Host, kind: CallKind) -> OpResult {
    let requested_gas = ctx.stack.pop();
    let to = Address::from_word(B256::from(ctx.stack.pop()));
    let value = if matches!(kind, CallKind::Call | CallKind::CallCode) {
        ctx.stack.pop()
    } else {
        U256::ZERO
    };
    let [in_offset, in_len, out_offset, out_len] = ctx.stack.popn::<4>();
    let has_value = !value.is_zero();
    if kind == CallKind::Call && ctx.is_static && has_value {
        return Err(Status::StaticViolation);
    }

    let (in_off, in_n) = ctx.memory_range(in_offset, in_len)?;
    let (out_off, out_n) = ctx.memory_range(out_offset, out_len)?;

    // Access costs: the callee (EIP-2929) and, under EIP-7702, its delegate.
    super::host_ops::access_account(ctx, host, to)?;
    let r = host.delegate_of(to);
    if let Some(delegate) = host.db(r)? {
        let r = host.journal.load_warm(delegate);
        let cold = host.db(r)?;
        ctx.spend(if cold { gas::COLD_ACCOUNT_ACCESS } else { gas::WARM_STORAGE_READ })?;
    }
    let mut extra = 0;
    if has_value {
        extra += gas::CALL_VALUE;
    }
    if kind == CallKind::Call {
        // A call that brings an account into existence pays for it: under EIP-161 one that
        // sends value to an empty account, before it one to an account that does not exist.
        let state_clearing = host.rules.state_clearing;
        let r = host.journal.load(to).map(|a| {
            if state_clearing {
                has_value && a.is_empty()
            } else {
                !a.exists()
            }
        });
        if host.db(r)? {
            extra += gas::NEW_ACCOUNT;
        }
    }
    ctx.spend(extra)?;

    // EIP-150: the callee gets at most all but one 64th of what is left. Before it, the
    // caller must be able to pay all it asks for.
    let requested = crate::context::saturating_u64(requested_gas);
    let call_gas = if host.rules.all_but_one_64th {
        requested.min(gas::all_but_one_64th(ctx.gas))
    } else {
        requested
    };
    ctx.spend(call_gas)?;
    let stipend = if has_value { gas::CALL_STIPEND } else { 0 };

    let input = if in_n == 0 {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(ctx.memory.slice(in_off, in_n))
    };
    let (target, caller, apparent_value, transfer) = match kind {
        CallKind::Call | CallKind::StaticCall => (to, ctx.address, value, kind == CallKind::Call),
        CallKind::CallCode => (ctx.address, ctx.address, value, true),
        CallKind::DelegateCall => (ctx.address, ctx.caller, ctx.value, false),
    };
    ctx.action = Some(Action::Call(Box::new(CallInputs {
        kind,
        code_address: to,
        target,
        caller,
        value: apparent_value,
        transfer,
        input,
        gas_limit: call_gas + stipend,
        is_static: ctx.is_static || kind == CallKind::StaticCall,
        return_offset: out_off,
        return_len: out_n,
    })));
    Err(Status::Suspend)
}

pub fn create(ctx: &mut Context, host: &mut Host, is_create2: bool) -> OpResult {
    if ctx.is_static {
        return Err(Status::StaticViolation);
    }
    let [value, offset, len] = ctx.stack.popn::<3>();
    let salt = if is_create2 { Some(ctx.stack.pop()) } else { None };
    let (off, n) = ctx.memory_range(offset, len)?;
    if host.rules.initcode_limit {
        if n > gas::MAX_INITCODE_SIZE {
            return Err(Status::CreateInitCodeSizeLimit);
        }
        ctx.spend_copy(n, gas::INITCODE_WORD)?;
    }
    if is_create2 {
        ctx.spend_copy(n, gas::KECCAK_WORD)?;
    }
    let init_code =
        if n == 0 { Bytes::new() } else { Bytes::copy_from_slice(ctx.memory.slice(off, n)) };
    let gas_limit =
        if host.rules.all_but_one_64th { gas::all_but_one_64th(ctx.gas) } else { ctx.gas };
    ctx.spend(gas_limit)?;
    ctx.action = Some(Action::Create(Box::new(CreateInputs {
        caller: ctx.address,
        scheme: match salt {
            Some(salt) => CreateScheme::Create2 { salt },
            None => CreateScheme::Create,
        },
        value,
        init_code,
        gas_limit,
    })));
    Err(Status::Suspend)
}
