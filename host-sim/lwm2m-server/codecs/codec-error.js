// A payload that cannot be encoded or decoded. `status` is the HTTP status the REST
// API answers with when it reaches a caller; the CoAP side answers 4.00 Bad Request.
export class CodecError extends Error {
	constructor(message, status = 400) {
		super(message);
		this.status = status;
	}
}
