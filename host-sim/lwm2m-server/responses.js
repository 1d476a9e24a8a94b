// What a client answered, in the shape of Leshan's REST API responses:
//   {"status":"CONTENT","valid":true,"success":true,"failure":false,"content":{...}}
// A CoAP error from the client (4.04 and so on) is an ordinary, unsuccessful response,
// not an exception: the request worked, the client said no.

const STATUS = {
	"2.01": "CREATED",
	"2.02": "DELETED",
	"2.03": "VALID",
	"2.04": "CHANGED",
	"2.05": "CONTENT",
	"2.31": "CONTINUE",
	"4.00": "BAD_REQUEST",
	"4.01": "UNAUTHORIZED",
	"4.02": "BAD_OPTION",
	"4.03": "FORBIDDEN",
	"4.04": "NOT_FOUND",
	"4.05": "METHOD_NOT_ALLOWED",
	"4.06": "NOT_ACCEPTABLE",
	"4.08": "REQUEST_ENTITY_INCOMPLETE",
	"4.09": "CONFLICT",
	"4.12": "PRECONDITION_FAILED",
	"4.13": "REQUEST_ENTITY_TOO_LARGE",
	"4.15": "UNSUPPORTED_CONTENT_FORMAT",
	"5.00": "INTERNAL_SERVER_ERROR",
	"5.01": "NOT_IMPLEMENTED",
	"5.02": "BAD_GATEWAY",
	"5.03": "SERVICE_UNAVAILABLE",
	"5.04": "GATEWAY_TIMEOUT",
	"5.05": "PROXY_NOT_SUPPORTED",
};

// the success code each operation expects (LwM2M Transport TS 1.1 §6.4)
export const EXPECTED = {
	read: "2.05",
	discover: "2.05",
	observe: "2.05",
	readComposite: "2.05",
	observeComposite: "2.05",
	cancelObservation: "2.05",
	write: "2.04",
	writeAttributes: "2.04",
	execute: "2.04",
	writeComposite: "2.04",
	create: "2.01",
	delete: "2.02",
};

export const statusName = (code) => STATUS[code] ?? `CODE_${String(code).replace(".", "_")}`;

/** A client's CoAP answer to `operation` -> the response object (content added by the caller). */
export function toResponse(operation, { code, payload }) {
	const success = code === EXPECTED[operation];
	const failure = /^[45]\./.test(code);
	const response = { status: statusName(code), code, valid: success || failure, success, failure };
	if (failure && payload?.length) response.errormessage = Buffer.from(payload).toString("utf8");
	return response;
}
