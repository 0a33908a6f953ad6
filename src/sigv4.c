/* sigv4.c: placeholder until the SigV4 signer lands (issue 3). */
typedef int rc_sigv4_placeholder;
