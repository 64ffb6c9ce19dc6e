//! Prints the machine code (and with `CLIF=1` the Cranelift IR) the JIT makes of a contract.
//! `cargo run --release -p kiln-codegen --example disasm -- HEX`

use cranelift_codegen::control::ControlPlane;
use cranelift_frontend::FunctionBuilderContext;
use kiln_frontend::SpecId;
fn main() {
    let hex = std::env::args().nth(1).unwrap();
    let code = alloy_primitives::hex::decode(hex.trim_start_matches("0x")).unwrap();
    let isa = kiln_codegen::jit::host_isa_for_tools().unwrap();
    let f = kiln_ir::build(&code, SpecId::Prague);
    let mut ctx = cranelift_codegen::Context::new();
    ctx.func.signature = kiln_codegen::lower::native_signature(isa.default_call_conv());
    let mut fctx = FunctionBuilderContext::new();
    let carry = kiln_codegen::lower::Carry::Regions;
    kiln_codegen::lower::lower(&f, &mut ctx.func, &mut fctx, isa.frontend_config(), carry)
        .expect("the stack proof holds");
    if std::env::var_os("CLIF").is_some() {
        println!("{}", ctx.func.display());
    }
    ctx.set_disasm(true);
    let c = ctx.compile(&*isa, &mut ControlPlane::default()).unwrap();
    println!("{}", c.vcode.as_ref().unwrap());
}
