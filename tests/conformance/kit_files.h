/*
 * kit_files.h - what the kit holds and what the stages used of it.
 *
 * Before the stages run, conf_kit_scan() lists the kit's golden files: every file
 * below the kit (walked, never a fixed list) except the models/ folders (inputs,
 * README section 3), README.md and MANIFEST.json files, the files at the kit's top
 * (KIT.md, KIT_INFO.json: documentation) and the PNG pictures that sit next to a
 * golden safetensors of the same name (README section 2: the same uint8 arrays,
 * "for looking at"). It FAILs, naming the file or tensor, when a file that
 * golden/MANIFEST.json or faces/MANIFEST.json lists is missing, unreadable, of
 * another size or hash, or lacks a listed tensor (or has it with another dtype or
 * shape).
 *
 * While the stages run, every golden file they open and every golden tensor they
 * compare (conf_check_*) or feed to our code as an input (conf_in, conf_input) is
 * recorded. After a full run conf_kit_report() FAILs each golden file no stage
 * opened and each tensor of an opened safetensors that was neither compared nor
 * used, unless tests/conformance/PENDING lists the file (or a folder above it) with
 * a reason: those are printed as PENDING lines. A PENDING entry that a stage now
 * reads FAILs too, so the list only ever shrinks to what is really missing.
 */
#ifndef IID_CONF_KIT_FILES_H
#define IID_CONF_KIT_FILES_H

#include "conformance.h"

/* List the kit's files, check the manifests and read the PENDING file (NULL: none).
 * Returns 0, or -1 when out of memory. */
int conf_kit_scan(conf_ctx_t *c, const char *pending_path);
/* FAIL what the stages left unread (see above); print the PENDING lines. */
void conf_kit_report(conf_ctx_t *c);
void conf_kit_free(conf_ctx_t *c);

#endif
