"""A small hand-written corpus for the classifier tests: documents whose discipline is known by construction.

Each discipline has a handful of sentences in the register of its literature (written for these tests); a
document is a reproducible random choice of four of them. Boilerplate/spam documents give the quality
model its low end.
"""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.curation.document import BASE_COLUMNS, schema_for

SENTENCES = {
    "mathematics": [
        "We prove that every bounded sequence in a compact metric space has a convergent subsequence.",
        "The lemma follows by induction on the degree of the polynomial.",
        "Let G be a finite abelian group and H a subgroup of prime index.",
        "The integral converges absolutely for every real exponent greater than one.",
        "By the previous theorem the eigenvalues of the symmetric matrix are real.",
        "A corollary of this inequality is that the operator norm is bounded by the Sobolev constant.",
    ],
    "physics": [
        "The photon momentum is transferred to the electron during Compton scattering.",
        "We measure the luminosity of the galaxy cluster with a ground-based telescope.",
        "The Hamiltonian of the spin chain conserves the total magnetization.",
        "Gravitational waves from the black hole merger were detected by the interferometer.",
        "The quark masses enter the Lagrangian through the Yukawa couplings.",
        "At low temperature the superconducting phase expels the magnetic field.",
    ],
    "chemistry": [
        "The catalyst lowers the activation energy of the oxidation reaction.",
        "The compound was synthesized by refluxing the reactants in an organic solvent.",
        "Titration of the acid with sodium hydroxide gives the molarity of the solution.",
        "NMR spectroscopy confirmed the structure of the aromatic isomer.",
        "The ligand forms stable complexes with transition metal ions.",
        "The reaction yield improved when the polymerization was run under nitrogen.",
    ],
    "biology": [
        "The gene is expressed in neurons of the developing mouse embryo.",
        "Mutations in this protein disrupt the mitochondrial membrane potential.",
        "Phylogenetic analysis places the species within a clade of marine bacteria.",
        "Transcription of the mRNA is regulated by a receptor in the cell membrane.",
        "The population of the plant species declined after the habitat was fragmented.",
        "Sequencing of the genome revealed alleles linked to the phenotype.",
    ],
    "medicine": [
        "Patients with chronic heart failure were randomized to the drug or placebo.",
        "The clinical trial reported lower mortality in the treatment group.",
        "Diagnosis relied on MRI and biopsy of the lesion.",
        "Hypertension and diabetes were the main risk factors in the cohort.",
        "Adverse events were more frequent at the higher dose of the medication.",
        "Symptoms of the infection resolved after a week of antibiotic therapy.",
    ],
    "computer_science": [
        "The algorithm runs in polynomial time on sparse graphs.",
        "We train a neural network on the benchmark dataset and report accuracy.",
        "The compiler maps the source code onto the processor's instruction set.",
        "Our distributed database answers queries with low latency and high throughput.",
        "The encryption protocol resists known attacks on the server.",
        "The transformer language model embeds each token before the attention layers.",
    ],
    "earth_environment": [
        "Rainfall and groundwater levels in the watershed fell during the drought.",
        "Greenhouse emissions drive the warming of the atmosphere and the ocean.",
        "Seismic data show the fault slipped during the earthquake.",
        "Sediment cores record the paleoclimate of the coastal wetland.",
        "Satellite remote sensing maps deforestation and land use change.",
        "Aerosol pollution degrades air quality over the river basin.",
    ],
    "materials_engineering": [
        "The alloy's tensile strength increased after annealing.",
        "Fatigue cracks nucleate at grain boundaries in the steel microstructure.",
        "Thin films of the semiconductor were fabricated on a silicon substrate.",
        "The finite element model predicts stress and strain in the loaded beam.",
        "The controller regulates the turbine through a sensor feedback circuit.",
        "Graphene coatings reduce corrosion of the composite.",
    ],
    "general": [
        "The minister said the government would call an election next spring.",
        "The club won the cup after a dramatic match on Saturday.",
        "The band's new album went straight to the top of the charts.",
        "Shares in the company rose after it reported strong sales to customers.",
        "Police said the man would appear in court on Monday.",
        "The film festival opened with a premiere attended by the actress and her husband.",
    ],
}

BOILERPLATE = [
    "Click here to subscribe to our newsletter! Sign up | Log in | Home | Menu | Next page",
    "Buy now! Free shipping, best price, limited offer! Add to cart. Order now! Casino bonus, win money",
    "Cookie policy | Privacy policy | Terms of use | All rights reserved | Follow us | Share this | Read more",
]


def make_documents(per_discipline: int, seed: int = 0, with_boilerplate: int = 0) -> list[dict]:
    """Documents {"id", "text", "truth"}: `truth` is the discipline the text was written from."""
    rng = random.Random(seed)
    docs = []
    for discipline, sentences in SENTENCES.items():
        for i in range(per_discipline):
            text = " ".join(rng.sample(sentences, 4))
            docs.append({"id": f"{discipline}-{seed}-{i}", "text": text, "truth": discipline})
    for i in range(with_boilerplate):
        text = " ".join(rng.choice(BOILERPLATE) for _ in range(5))
        docs.append({"id": f"boilerplate-{seed}-{i}", "text": text, "truth": "boilerplate"})
    return docs


def write_curated(folder: Path, docs: list[dict], parts: int, flag_every: int = 5) -> None:
    """`docs` as a curated stage folder of `parts` parts; every `flag_every`-th document (0: none) failed a
    level-1 rule (l1_score 0.5, flag short_lines), the others passed all of them, except where a document
    carries its own l1_score and l1_flags."""
    folder.mkdir(parents=True)
    columns = {**BASE_COLUMNS, "l1_score": pa.float32(), "l1_flags": pa.list_(pa.string())}
    for p in range(parts):
        rows = [{"id": d["id"], "text": d["text"], "url": None, "source": "test", "lang": "en",
                 "l1_score": d.get("l1_score", 0.5 if flagged else 1.0),
                 "l1_flags": d.get("l1_flags", ["short_lines"] if flagged else [])}
                for i, d in enumerate(docs) if i % parts == p
                for flagged in [bool(flag_every) and i % flag_every == 0]]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema_for(columns)), folder / f"part-{p:04d}.parquet")
