// What any method of a closed IO instance throws on Moddable: its host data is gone.
export function closedError() {
	return new SyntaxError("C: xsGetHostData: invalid");
}
