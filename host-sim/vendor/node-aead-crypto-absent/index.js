// node-dtls-client loads this only on Node < 10; it uses Node's crypto for CCM and GCM.
throw new Error("node-aead-crypto is not installed: node-dtls-client uses Node's crypto");
