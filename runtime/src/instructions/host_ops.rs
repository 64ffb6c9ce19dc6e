//! Instructions that read or write the world state: accounts, storage, logs, SELFDESTRUCT.

use crate::context::{Context, OpResult, Status};
use crate::gas;
use crate::host::Host;
use crate::result::Log;
use alloy_primitives::{Address, Bytes, B256, U256};

#[inline(always)]
fn to_address(v: U256) -> Address {
    Address::from_word(B256::from(v))
}

/// Warms `address`, charging the cold surcharge if it was cold (EIP-2929). The warm cost is
/// in the opcode's static gas. Before Berlin nothing is charged.
#[inline]
pub fn access_account(ctx: &mut Context, host: &mut Host, address: Address) -> OpResult {
    let r = host.journal.load_warm(address);
    if host.db(r)? && host.rules.cold_access {
        ctx.spend(gas::COLD_ACCOUNT_SURCHARGE)?;
    }
    Ok(())
}

pub fn balance(ctx: &mut Context, host: &mut Host) -> OpResult {
    let address = to_address(*ctx.stack.peek(0));
    access_account(ctx, host, address)?;
    let r = host.journal.balance(address);
    *ctx.stack.top() = host.db(r)?;
    Ok(())
}

pub fn selfbalance(ctx: &mut Context, host: &mut Host) -> OpResult {
    let r = host.journal.balance(ctx.address);
    let b = host.db(r)?;
    ctx.stack.push(b);
    Ok(())
}

pub fn extcodesize(ctx: &mut Context, host: &mut Host) -> OpResult {
    let address = to_address(*ctx.stack.peek(0));
    access_account(ctx, host, address)?;
    let r = host.journal.code(address);
    let len = host.db(r)?.len();
    *ctx.stack.top() = U256::from(len);
    Ok(())
}

pub fn extcodehash(ctx: &mut Context, host: &mut Host) -> OpResult {
    let address = to_address(*ctx.stack.peek(0));
    access_account(ctx, host, address)?;
    let r =
        host.journal
            .load(address)
            .map(|a| if a.is_empty() { B256::ZERO } else { a.info.code_hash });
    *ctx.stack.top() = U256::from_be_bytes(host.db(r)?.0);
    Ok(())
}

pub fn extcodecopy(ctx: &mut Context, host: &mut Host) -> OpResult {
    let address = to_address(ctx.stack.pop());
    access_account(ctx, host, address)?;
    let (dst, src, n) = super::system::copy_operands(ctx)?;
    if n > 0 {
        let r = host.journal.code(address);
        let code = host.db(r)?;
        ctx.memory.set_data(dst, src, n, &code);
    }
    Ok(())
}

pub fn blockhash(ctx: &mut Context, host: &mut Host) -> OpResult {
    let requested = *ctx.stack.peek(0);
    let current = host.block.number;
    let hash = match u64::try_from(requested) {
        Ok(n) if requested < current && current - requested <= U256::from(256) => {
            let r = host.journal.db().block_hash(n);
            host.db(r)?
        }
        _ => B256::ZERO,
    };
    *ctx.stack.top() = U256::from_be_bytes(hash.0);
    Ok(())
}

pub fn sload(ctx: &mut Context, host: &mut Host) -> OpResult {
    let key = *ctx.stack.peek(0);
    let r = host.journal.sload(ctx.address, key);
    let (present, cold) = host.db(r)?;
    if cold && host.rules.cold_access {
        ctx.spend(gas::COLD_SLOAD_SURCHARGE)?;
    }
    *ctx.stack.top() = present;
    Ok(())
}

/// SSTORE, metered by the fork's [`SstoreRules`](crate::rules::SstoreRules): by the present
/// value alone before net metering; by original, present and new value under EIP-1283 and
/// EIP-2200 (with EIP-2929's cold surcharge from Berlin on and EIP-3529's refunds from London).
pub fn sstore(ctx: &mut Context, host: &mut Host) -> OpResult {
    if ctx.is_static {
        return Err(Status::StaticViolation);
    }
    let rules = &host.rules.sstore;
    // The sentry: SSTORE needs more than the call stipend left, so a stipend-only callee can
    // never write storage.
    if rules.sentry && ctx.gas <= gas::SSTORE_SENTRY {
        return Err(Status::OutOfGas);
    }
    let [key, new] = ctx.stack.popn::<2>();
    // One lookup reads, warms and writes the slot. The write happens before the gas is
    // charged; running out of gas below halts the frame, whose revert undoes the write.
    let r = host.journal.sstore_warm(ctx.address, key, new);
    let (slot, cold) = host.db(r)?;
    let (original, current) = (slot.original, slot.present);
    let rules = &host.rules.sstore;
    if !rules.net_metering {
        if current.is_zero() && !new.is_zero() {
            ctx.spend(rules.set)?;
        } else {
            ctx.spend(rules.reset)?;
            if !current.is_zero() && new.is_zero() {
                ctx.spend_refund(rules.clears_refund);
            }
        }
        return Ok(());
    }
    let mut cost = if cold && host.rules.cold_access { gas::COLD_SLOAD } else { 0 };
    cost += if current == new {
        rules.noop
    } else if original == current {
        if original.is_zero() {
            rules.set
        } else {
            rules.reset
        }
    } else {
        rules.noop
    };
    ctx.spend(cost)?;
    if current != new {
        if original == current {
            if !original.is_zero() && new.is_zero() {
                ctx.spend_refund(rules.clears_refund);
            }
        } else {
            if !original.is_zero() {
                if current.is_zero() {
                    ctx.spend_refund(-rules.clears_refund);
                } else if new.is_zero() {
                    ctx.spend_refund(rules.clears_refund);
                }
            }
            if original == new {
                let back = if original.is_zero() { rules.set } else { rules.reset };
                ctx.spend_refund((back - rules.noop) as i64);
            }
        }
    }
    Ok(())
}

pub fn tload(ctx: &mut Context, host: &mut Host) {
    let key = *ctx.stack.peek(0);
    *ctx.stack.top() = host.journal.tload(ctx.address, key);
}

pub fn tstore(ctx: &mut Context, host: &mut Host) -> OpResult {
    if ctx.is_static {
        return Err(Status::StaticViolation);
    }
    let [key, value] = ctx.stack.popn::<2>();
    host.journal.tstore(ctx.address, key, value);
    Ok(())
}

pub fn log(ctx: &mut Context, host: &mut Host, topics: usize) -> OpResult {
    if ctx.is_static {
        return Err(Status::StaticViolation);
    }
    let [offset, len] = ctx.stack.popn::<2>();
    let (off, n) = ctx.memory_range(offset, len)?;
    ctx.spend(gas::LOG_DATA_BYTE.saturating_mul(n as u64))?;
    let topics = (0..topics).map(|_| B256::from(ctx.stack.pop())).collect();
    let data = if n == 0 { Bytes::new() } else { Bytes::copy_from_slice(ctx.memory.slice(off, n)) };
    host.journal.log(Log { address: ctx.address, topics, data });
    Ok(())
}

/// SELFDESTRUCT: the balance moves to the beneficiary and the account is deleted at the end
/// of the transaction; under EIP-6780 only an account created in the same transaction is
/// deleted (the others only send their balance).
pub fn selfdestruct(ctx: &mut Context, host: &mut Host) -> OpResult {
    if ctx.is_static {
        return Err(Status::StaticViolation);
    }
    let rules = host.rules;
    let beneficiary = to_address(ctx.stack.pop());
    let r = host.journal.load_warm(beneficiary);
    if host.db(r)? && rules.cold_access {
        ctx.spend(gas::COLD_ACCOUNT_ACCESS)?;
    }
    let r = host.journal.balance(ctx.address);
    let balance = host.db(r)?;
    if rules.selfdestruct_new_account {
        let r = host.journal.load(beneficiary).map(|a| {
            if rules.state_clearing {
                a.is_empty() && !balance.is_zero()
            } else {
                !a.exists()
            }
        });
        if host.db(r)? {
            ctx.spend(gas::SELFDESTRUCT_NEW_ACCOUNT)?;
        }
    }
    let r = host.journal.transfer(ctx.address, beneficiary, balance);
    host.db(r)?;
    let r = host.journal.load(ctx.address).map(|a| (a.created, a.destroyed));
    let (created, destroyed) = host.db(r)?;
    if created || !rules.selfdestruct_only_created {
        // Gone at the end of the transaction, with whatever it holds then (a beneficiary that
        // is the account itself burns the balance).
        let r = host.journal.set_balance(ctx.address, U256::ZERO);
        host.db(r)?;
        let r = host.journal.mark_destroyed(ctx.address);
        host.db(r)?;
        if !destroyed {
            ctx.spend_refund(rules.selfdestruct_refund);
        }
    }
    Err(Status::SelfDestruct)
}
