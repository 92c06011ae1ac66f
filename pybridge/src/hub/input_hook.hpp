// PyOS_InputHook: while the REPL (or pdb, or input()) waits for a line on a terminal, the
// thread's hub keeps running its greenlets.
#pragma once

namespace balrog::python {

// Installs the hook unless another one (tkinter's...) is installed; returns whether it is ours.
bool install_input_hook() noexcept;
void uninstall_input_hook() noexcept;

}  // namespace balrog::python
