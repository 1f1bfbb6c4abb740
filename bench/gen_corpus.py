#!/usr/bin/env python3
"""Generates a lint benchmark corpus of realistic Atlas resource policies.

    gen_corpus.py OUT_DIR [--files 1000] [--per-file 10] [--duplicates PCT]
    gen_corpus.py --big OUT_FILE [--mb 50]

Writes OUT_DIR/files/NNNN.cedar (the per-file corpus) and OUT_DIR/all.cedar (every
policy in one file, for `cedar validate`). Deterministic (fixed seed). With
`--duplicates PCT`, about PCT% of the policies repeat an earlier one's text (the same
guardrail copied into several projects' files); 0 writes every body distinct.
"""
import argparse
import os
import random

REGIONS = ["aws:us-east-1", "aws:eu-west-1", "aws:eu-central-1", "gcp:us-east1",
           "gcp:europe-west1", "azure:westeurope", "azure:northeurope", "aws:ap-south-1"]
PROVIDERS = ["aws", "gcp", "azure"]


def policy(rng, i):
    kind = i % 10
    scope = 'resource in ResourcePolicy::Project::"%024x" && ' % rng.getrandbits(96)
    if kind == 0:
        regs = ", ".join(f'ResourcePolicy::Region::"{r}"' for r in rng.sample(REGIONS, 3))
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ {scope}![{regs}].containsAll(context.cluster.regions) }};')
    if kind == 1:
        p = rng.choice(PROVIDERS)
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ {scope}context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::"{p}") }};')
    if kind == 2:
        lo, hi = rng.choice([(10, 40), (20, 60), (30, 80)])
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ {scope}((context.cluster has minGeneralClassInstanceSizeValue && context.cluster.minGeneralClassInstanceSizeValue < {lo})\n'
                f'    || (context.cluster has maxGeneralClassInstanceSizeValue && context.cluster.maxGeneralClassInstanceSizeValue > {hi})) }};')
    if kind == 3:
        return ('forbid (principal, action == ResourcePolicy::Action::"project.ipAccessList.modify", resource)\n'
                f'when {{ {scope}context.project.ipAccessList.contains(ip("0.0.0.0/0")) }};')
    if kind == 4:
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ {scope}context.cluster.minTLSVersion != ResourcePolicy::TLSVersion::"tls1_2" }};')
    if kind == 5:
        return ('forbid (principal, action == ResourcePolicy::Action::"project.maintenanceWindow.modify", resource)\n'
                f'when {{ {scope}context.project.hasDefinedMaintenanceWindow == false }};')
    if kind == 6:
        n = rng.randint(1, 6)
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ {scope}context.cluster.minShardCount < {n} && !context.cluster.isConvertingToSharded }};')
    if kind == 7:
        pid = "%024x" % rng.getrandbits(96)
        return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
                f'when {{ resource in ResourcePolicy::Project::"{pid}" && context.cluster has diskSizeGB && context.cluster.diskSizeGB > {rng.randint(100, 4000)} }};')
    if kind == 8:
        eps = ", ".join(f'"aws:vpce-{rng.getrandbits(64):016x}"' for _ in range(3))
        return ('forbid (principal, action == ResourcePolicy::Action::"project.privateEndpoint.modify", resource)\n'
                f'unless {{ [{eps}].containsAll(context.project.privateEndpoints) }};')
    return ('forbid (principal, action == ResourcePolicy::Action::"cluster.modify", resource)\n'
            'when { ' + scope + 'context.cluster.encryptionAtRest.customerManagedKey.enabled == false && context.project.clustersInProject > %d };' % rng.randint(1, 20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--per-file", type=int, default=10)
    ap.add_argument("--big", action="store_true", help="write one file of about --mb MB")
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--duplicates", type=int, default=0, help="percent of repeated bodies")
    a = ap.parse_args()
    rng = random.Random(42)
    if a.big:
        with open(a.out, "w") as f:
            i, size = 0, 0
            while size < a.mb * 1024 * 1024:
                text = f"// policy {i}\n{policy(rng, i)}\n\n"
                f.write(text)
                size += len(text)
                i += 1
        return
    os.makedirs(os.path.join(a.out, "files"), exist_ok=True)
    everything = []
    bodies = []
    dup_rng = random.Random(7)
    n = 0
    for fi in range(a.files):
        texts = []
        for _ in range(a.per_file):
            if bodies and a.duplicates and dup_rng.random() * 100 < a.duplicates:
                body = dup_rng.choice(bodies)
            else:
                body = policy(rng, n)
                bodies.append(body)
            texts.append(f"// policy {n}\n{body}\n")
            n += 1
        with open(os.path.join(a.out, "files", f"{fi:04}.cedar"), "w") as f:
            f.write("\n".join(texts))
        everything.extend(texts)
    with open(os.path.join(a.out, "all.cedar"), "w") as f:
        f.write("\n".join(everything))


if __name__ == "__main__":
    main()
