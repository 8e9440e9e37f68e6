/* The project a command works on, loaded the same way by every command: .env first (its
 * variables feed osiris.yaml overrides and connections), then osiris.yaml, the registry and
 * osiris_connections.yaml. Registry problems (invalid override specs) are warnings. */
#include "cli.h"
#include "envfile.h"

#include <string.h>

int cli_project_open(struct cli_ctx *ctx, struct cli_project *p)
{
    memset(p, 0, sizeof(*p));
    struct err err = ERR_INIT;
    if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&p->cfg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    p->have_cfg = true;
    if (registry_load(&p->reg, ctx->components_dir, &err) != 0) {
        cli_project_close(p);
        return cli_fail(ctx, &err, NULL);
    }
    p->have_reg = true;
    for (size_t i = 0; i < p->reg.nproblems; i++)
        cli_warn("%s (skipped)", p->reg.problems[i].message);
    if (connections_load(&p->conns, NULL, &err) != 0) {
        cli_project_close(p);
        return cli_fail(ctx, &err, NULL);
    }
    p->have_conns = true;
    return EXIT_OK;
}

void cli_project_close(struct cli_project *p)
{
    if (p->have_conns)
        connections_release(&p->conns);
    if (p->have_reg)
        registry_release(&p->reg);
    if (p->have_cfg)
        projconfig_release(&p->cfg);
    memset(p, 0, sizeof(*p));
}
