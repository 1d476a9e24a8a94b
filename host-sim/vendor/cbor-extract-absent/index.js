// cbor-x requires this inside try/catch and falls back to its pure-JS decoder.
throw new Error("cbor-extract is not installed: cbor-x runs as pure JS");
