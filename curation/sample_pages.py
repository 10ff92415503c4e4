"""The text of the demo crawl's pages, written for this project (no third-party text).

Each science topic carries its formula in one of the three ways the web writes math (MathML, MathJax TeX,
KaTeX with its TeX annotation) so that extraction can be checked on all of them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    discipline: str
    paragraphs: tuple[str, ...]
    math: str  # TeX source of the page's main formula
    math_style: str  # "mathml" | "mathjax" | "katex" | "none"
    mathml: str = ""  # MathML of the formula when math_style == "mathml"
    table: tuple[tuple[str, ...], ...] = ()  # header row first


SCIENCE = (
    Topic("harmonic-oscillator", "The simple harmonic oscillator", "physics", (
        "A mass attached to an ideal spring is the first system most physics students solve exactly. When the "
        "mass is pulled away from its resting point, the spring pushes back with a force proportional to the "
        "displacement, and the motion that follows repeats itself with a fixed period that does not depend on "
        "how far the mass was pulled.",
        "Writing Newton's second law for this system gives a linear differential equation whose solutions are "
        "sines and cosines. The angular frequency depends only on the stiffness of the spring and on the mass, "
        "which is why a pendulum clock keeps good time even as the swing slowly shrinks from friction.",
        "The same equation appears far from mechanics. Small vibrations of atoms in a crystal, the current in a "
        "circuit made of a coil and a capacitor, and the oscillations of air in an organ pipe all follow it to a "
        "good approximation, so the harmonic oscillator is a model that physicists reach for again and again.",
        "Real oscillators lose energy, and a damping term proportional to the velocity is added to the equation "
        "to describe this. When the damping is weak the motion is still a sine wave, but its amplitude decays "
        "exponentially; when it is strong the mass creeps back to equilibrium without overshooting. Car "
        "suspensions are tuned close to the boundary between the two cases, called critical damping, because that "
        "returns the wheel to rest fastest.",
    ), r"\ddot{x} + \omega^2 x = 0, \quad \omega = \sqrt{k/m}", "mathjax"),
    Topic("mass-energy", "Mass and energy in special relativity", "physics", (
        "Special relativity tells us that mass and energy are two forms of the same quantity. A body at rest "
        "still carries an energy equal to its mass multiplied by the square of the speed of light, a number so "
        "large that a gram of matter corresponds to roughly the energy released by twenty kilotons of explosive.",
        "The relation explains why nuclear reactions release so much more energy than chemical ones. When a "
        "heavy nucleus splits, the fragments together weigh slightly less than the original nucleus, and the "
        "missing mass appears as the kinetic energy of the fragments and as radiation.",
        "Measurements of nuclear masses with modern spectrometers confirm the relation to better than one part "
        "in a million. The same bookkeeping applies to the Sun, which loses about four million tonnes of mass "
        "every second as hydrogen fuses into helium in its core.",
        "Chemical energy obeys the same relation, although the effect is far too small to weigh. When a mole of "
        "hydrogen burns with oxygen, the water formed is lighter than the reactants by only a few billionths of a "
        "gram, which explains why chemists can treat mass as conserved. In particle colliders, by contrast, the "
        "kinetic energy of colliding protons is routinely converted into the mass of new particles such as the "
        "Higgs boson.",
    ), r"E = m c^2", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>E</mi><mo>=</mo><mi>m</mi>'
               '<msup><mi>c</mi><mn>2</mn></msup></math>'),
    Topic("gauss-law", "Gauss's law for the electric field", "physics", (
        "Gauss's law relates the electric field passing through a closed surface to the charge enclosed by that "
        "surface. It is one of the four Maxwell equations and, in its differential form, says that the "
        "divergence of the field at a point equals the local charge density divided by the vacuum permittivity.",
        "For problems with a lot of symmetry the law turns a hard integral into a few lines of algebra. The "
        "field of a uniformly charged sphere, of an infinite line of charge or of a flat charged sheet can be "
        "found by choosing a surface on which the field is constant and simply counting the enclosed charge.",
        "The law also explains why the charge on a conductor in equilibrium sits on its outer surface. Inside "
        "the metal the field must vanish, so any Gaussian surface drawn within it encloses no net charge.",
        "Gauss's law has a twin for gravity. Newton's gravitational force also falls off with the inverse square "
        "of distance, so the gravitational field of a planet or a star outside its surface is the same as if all "
        "of its mass sat at the centre. The magnetic version of the law says that the magnetic field has no "
        "sources at all: its field lines always close on themselves, and no isolated magnetic charge has ever "
        "turned up in any particle experiment.",
    ), r"\nabla \cdot \mathbf{E} = \frac{\rho}{\varepsilon_0}", "katex"),
    Topic("michaelis-menten", "Enzyme kinetics and the Michaelis-Menten equation", "biology", (
        "Enzymes speed up reactions in the cell by binding their substrate and lowering the energy barrier of "
        "the reaction. At low substrate concentration the rate rises almost linearly with concentration, but at "
        "high concentration every enzyme molecule is busy and the rate levels off at a maximum value.",
        "The Michaelis constant is the substrate concentration at which the reaction runs at half its maximum "
        "rate. A small constant means the enzyme binds its substrate tightly and works well even when little "
        "substrate is present, which is typical of enzymes in pathways that must respond to scarce nutrients.",
        "Biochemists estimate both parameters by measuring initial rates at several substrate concentrations "
        "and fitting the curve. The table below lists rates measured in a teaching laboratory for an invertase "
        "preparation at twenty five degrees.",
        "Many drugs act by inhibiting enzymes, and the kinetic plot reveals how. A competitive inhibitor binds "
        "the same site as the substrate, so it raises the apparent Michaelis constant while the maximum rate is "
        "unchanged, because enough substrate can still outcompete it. A non-competitive inhibitor binds elsewhere "
        "and lowers the maximum rate instead, which is why the two types can be told apart from a series of rate "
        "measurements.",
        "The derivation rests on a steady-state assumption introduced by Briggs and Haldane. Shortly after "
        "mixing, the concentration of the enzyme-substrate complex stops changing, because it forms as fast as it "
        "breaks down, either back to free enzyme and substrate or forward to product. Setting its rate of change "
        "to zero and using the fact that the total enzyme is fixed yields the hyperbolic rate law directly.",
    ), r"v = \frac{V_{\max} [S]}{K_m + [S]}", "mathjax",
        table=(("Sucrose (mM)", "Initial rate (µM/min)"), ("2", "11.8"), ("5", "24.1"), ("10", "36.0"),
               ("20", "47.9"), ("50", "58.2"))),
    Topic("ideal-gas", "The ideal gas law", "chemistry", (
        "The ideal gas law connects the pressure, volume and temperature of a gas with the amount of substance "
        "it contains. It treats the molecules as points that do not attract each other, an approximation that "
        "works well for most gases at room temperature and ordinary pressure.",
        "Real gases depart from the law when they are compressed strongly or cooled close to the point where "
        "they condense. Then the volume of the molecules themselves and the attraction between them matter, and "
        "corrections such as the van der Waals equation describe the measurements better.",
        "In the laboratory the law is used every day, for example to find how many moles of gas a reaction "
        "produced from the volume collected over water, after subtracting the vapour pressure of the water.",
        "The law can be derived from the kinetic theory of gases. Molecules move in random directions with a "
        "spread of speeds, and the pressure on a wall is the average momentum they transfer to it per second per "
        "unit area. Working this out shows that the average kinetic energy of a molecule is proportional to the "
        "absolute temperature, which gives temperature a direct molecular meaning.",
        "Several older laws are special cases of this one. Boyle found that at fixed temperature the pressure of "
        "a trapped gas is inversely proportional to its volume, Charles observed that at fixed pressure the "
        "volume grows linearly with temperature, and Avogadro proposed that equal volumes of gases at the same "
        "conditions contain equal numbers of molecules. At standard temperature and pressure one mole occupies "
        "about 22.7 litres.",
    ), r"p V = n R T", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>p</mi><mi>V</mi><mo>=</mo><mi>n</mi>'
               '<mi>R</mi><mi>T</mi></math>',
        table=(("Gas", "a (L² bar/mol²)", "b (L/mol)"), ("Helium", "0.0346", "0.0238"),
               ("Nitrogen", "1.370", "0.0387"), ("Carbon dioxide", "3.640", "0.04267"),
               ("Water vapour", "5.536", "0.03049"))),
    Topic("bayes", "Bayes' theorem and updating beliefs", "mathematics", (
        "Bayes' theorem tells us how to revise the probability of a hypothesis after seeing new evidence. The "
        "revised probability is proportional to the prior probability of the hypothesis multiplied by the "
        "likelihood of the evidence under that hypothesis.",
        "A classic example is a medical test for a rare condition. Even a test that is right ninety nine times "
        "out of a hundred produces more false alarms than true detections when only one person in a thousand "
        "has the condition, because the healthy majority is so much larger.",
        "Bayesian statistics builds whole models on this rule. Parameters are treated as uncertain quantities "
        "with distributions, and the data sharpen those distributions step by step as observations arrive.",
        "The theorem is also the engine of many spam filters and diagnostic systems. For example, a filter "
        "estimates how often each word appears in spam and in legitimate mail, and combines these likelihoods "
        "with the overall share of spam to compute the posterior probability that a new message is unwanted. Such "
        "naive Bayes classifiers assume the words are independent, which is false, yet they work surprisingly "
        "well in practice.",
        "Choosing the prior is the step that draws most criticism. With little data the prior can dominate the "
        "conclusion, so analysts check how sensitive their results are to it, or use weakly informative priors "
        "that rule out only absurd values. As observations accumulate, however, the likelihood overwhelms any "
        "reasonable prior, and Bayesian and classical estimates usually end up close to each other.",
    ), r"P(H \mid E) = \frac{P(E \mid H)\, P(H)}{P(E)}", "katex"),
    Topic("prime-number-theorem", "How many primes are there below a number?", "mathematics", (
        "Prime numbers become rarer as numbers grow, but they never run out. The prime number theorem makes "
        "this precise: the number of primes below a large number is close to that number divided by its "
        "natural logarithm.",
        "The theorem was guessed by Gauss and Legendre from tables of primes and proved a century later, "
        "independently by Hadamard and de la Vallée Poussin, using the analysis of the Riemann zeta function "
        "in the complex plane.",
        "A sharper estimate uses the logarithmic integral instead of the simple quotient. How far the true "
        "count can stray from that integral is tied to the Riemann hypothesis, one of the most famous open "
        "problems in mathematics.",
        "Euclid had already shown more than two thousand years ago that there are infinitely many primes, with a "
        "proof by contradiction that is still taught in first courses. Suppose the primes were finite in number, "
        "multiply them all together and add one: the result is divisible by none of them, so either it is prime "
        "itself or it has a prime factor missing from the list. Either way the assumption fails.",
        "Primes are not spread evenly on a small scale. Twin primes such as 11 and 13 or 17 and 19 keep appearing "
        "among large numbers, although nobody has proved that there are infinitely many of them, while "
        "arbitrarily long stretches of consecutive composite numbers also exist: the n minus one numbers "
        "following n factorial plus one are all divisible by something smaller than themselves.",
    ), r"\pi(x) \sim \frac{x}{\ln x}", "mathjax",
        table=(("x", "primes below x", "x / ln x"), ("1000", "168", "145"), ("10000", "1229", "1086"),
               ("100000", "9592", "8686"), ("1000000", "78498", "72382"))),
    Topic("hardy-weinberg", "Hardy-Weinberg equilibrium in population genetics", "biology", (
        "In a large population that mates at random, with no selection, mutation or migration, the frequencies "
        "of the alleles of a gene stay the same from one generation to the next. The genotype frequencies then "
        "settle after a single generation at values fixed by the allele frequencies.",
        "Geneticists use the principle as a null model. When the genotype counts observed in a sample differ "
        "strongly from the expected values, something is acting on the population: inbreeding, selection "
        "against one genotype, or a sample mixed from two groups with different allele frequencies.",
        "The calculation is simple enough to do by hand. With an allele frequency of one fifth for the rare "
        "allele, about one person in twenty five is expected to carry two copies of it.",
        "Applying the principle to a recessive disease shows why harmful alleles persist. If one newborn in ten "
        "thousand is affected, the frequency of the disease allele is one in a hundred, and about one person in "
        "fifty is a healthy carrier. Most copies of the allele are therefore hidden in heterozygotes, where "
        "selection cannot act on them, which explains why such alleles decline only very slowly even when "
        "affected people have no children.",
        "Testing a sample against the expected proportions uses a chi-squared statistic. The observed counts of "
        "the three genotypes are compared with the counts predicted from the estimated allele frequency, and "
        "since one parameter is estimated from the same data, the test has a single degree of freedom. For the "
        "counts in the table the statistic is well below the critical value, so the population shows no sign of "
        "departure from equilibrium.",
    ), r"p^2 + 2pq + q^2 = 1", "mathjax",
        table=(("Genotype", "Expected frequency", "Observed count (n = 500)"), ("AA", "0.64", "322"),
               ("Aa", "0.32", "158"), ("aa", "0.04", "20"))),
    Topic("radioactive-decay", "Radioactive decay and half-life", "physics", (
        "Each unstable nucleus decays at a random moment, yet a large collection of them shrinks in a perfectly "
        "regular way: the number remaining falls by half in every half-life. The decay constant sets how fast "
        "this happens and is a fixed property of each isotope.",
        "Half-lives range from fractions of a second to billions of years. Carbon fourteen, with a half-life "
        "of about five thousand seven hundred years, is used to date organic remains, while uranium isotopes "
        "date the oldest rocks on Earth.",
        "Because decay is a random process, the counts from a detector scatter around the expected value. "
        "Longer counting times reduce the relative scatter, which grows as the inverse square root of the count.",
        "Three kinds of radiation were identified early in nuclear physics. Alpha particles are helium nuclei "
        "made of two protons and two neutrons, beta decay turns a neutron into a proton while emitting an "
        "electron and an antineutrino, and gamma rays are energetic photons released when a nucleus drops to a "
        "lower energy state. Their penetrating power differs greatly: a sheet of paper stops alpha particles, "
        "whereas gamma radiation needs several centimetres of lead.",
        "Decay does not depend on temperature, pressure or chemical bonding, because the forces involved act "
        "inside the nucleus and are far stronger than those between atoms. This constancy is what makes "
        "radiometric dating reliable. The activity of a sample, measured in becquerels, equals the decay constant "
        "times the number of nuclei present, so a freshly purified source of a short-lived isotope is intensely "
        "radioactive and fades quickly.",
    ), r"N(t) = N_0 e^{-\lambda t}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>N</mi><mo>(</mo><mi>t</mi><mo>)</mo>'
               '<mo>=</mo><msub><mi>N</mi><mn>0</mn></msub><msup><mi>e</mi><mrow><mo>-</mo><mi>λ</mi>'
               '<mi>t</mi></mrow></msup></math>',
        table=(("Isotope", "Half-life", "Use"), ("Carbon-14", "5730 years", "radiocarbon dating"),
               ("Iodine-131", "8.02 days", "thyroid treatment"), ("Cobalt-60", "5.27 years", "radiotherapy"),
               ("Uranium-238", "4.47 billion years", "dating rocks"))),
    Topic("merge-sort", "Why merge sort runs in n log n time", "computer_science", (
        "Merge sort splits a list in two halves, sorts each half recursively and then merges the two sorted "
        "halves in a single pass. The merge step touches every element once, so each level of the recursion "
        "costs time proportional to the length of the list.",
        "Since the list is halved at every level, there are about log n levels before the pieces hold a single "
        "element. Multiplying the work per level by the number of levels gives the familiar bound, which holds "
        "in the best, average and worst case alike.",
        "No comparison sort can do better in the worst case. A decision tree that distinguishes all orderings "
        "of n items needs at least log of n factorial comparisons on some input, and that quantity grows as "
        "n log n.",
        "Library implementations combine merge sort with simpler methods. Python's built-in sort, Timsort, finds "
        "runs that are already ordered in the data and merges them, switching to insertion sort for short pieces "
        "because its low overhead wins there. Merge sort is also stable, keeping equal keys in their original "
        "order, and its sequential access pattern suits external sorting of datasets too large for memory, where "
        "the algorithm streams sorted runs from disk.",
        "Merge sort needs extra memory proportional to the input, since the merge writes into a separate array. "
        "Quicksort, its main rival, sorts in place and is often faster on random data because of its tight inner "
        "loop, but its worst case is quadratic. Heapsort also sorts in place with an n log n worst case, yet its "
        "scattered memory accesses make it slower on modern hardware than either of the others.",
    ), r"T(n) = 2\,T(n/2) + O(n) \implies T(n) = O(n \log n)", "mathjax"),
    Topic("photosynthesis", "The light reactions of photosynthesis", "biology", (
        "Photosynthesis begins in the thylakoid membranes of the chloroplast, where pigment molecules absorb "
        "light and pass the energy to reaction centres. There the energy drives electrons from water to a chain "
        "of carriers, and oxygen is released as a by-product.",
        "As electrons move along the chain, protons are pumped into the thylakoid space. The resulting gradient "
        "powers an enzyme that makes ATP, while the electrons finally reduce NADP to NADPH. Both molecules are "
        "then spent in the Calvin cycle to fix carbon dioxide into sugars.",
        "Plants adjust their pigments to the light they receive. Leaves grown in shade contain more chlorophyll "
        "b relative to chlorophyll a, which widens the range of wavelengths they can capture.",
        "The efficiency of the whole process is modest. Of the sunlight that reaches a leaf, at most a few "
        "percent ends up stored in sugars, because much of the light has the wrong wavelength, some is reflected, "
        "and energy is lost at each transfer step. Crop plants in the field typically convert only about one "
        "percent, which is why researchers try to engineer faster versions of the enzyme rubisco that fixes "
        "carbon dioxide.",
        "Some plants have evolved ways to concentrate carbon dioxide around rubisco and so avoid wasteful "
        "photorespiration in hot, dry conditions. Maize and sugar cane first fix carbon into four-carbon acids in "
        "outer leaf cells and release it in inner bundle sheath cells, while cacti and pineapples open their "
        "stomata only at night and store the fixed carbon as malic acid until daylight returns.",
    ), "", "none",
        table=(("Pigment", "Absorption peaks (nm)"), ("Chlorophyll a", "430, 662"), ("Chlorophyll b", "453, 642"),
               ("Beta-carotene", "450, 478"))),
    Topic("heat-equation", "The heat equation", "mathematics", (
        "The heat equation describes how temperature spreads through a material over time. The rate at which "
        "the temperature changes at a point is proportional to how much the temperature there differs from the "
        "average of its surroundings.",
        "Solutions smooth out quickly: a sharp hot spot flattens into a bell-shaped profile whose width grows "
        "with the square root of time. Fourier invented his series to solve exactly this equation on a bounded "
        "rod.",
        "The same equation governs diffusion of a dye in still water and, after a change of variables, the "
        "pricing of options in finance, which is one reason it is studied in so many courses.",
        "Its solutions obey a maximum principle: in a rod with no heat sources, the temperature inside never "
        "exceeds the largest value found at the start or on the boundary. This property makes the equation stable "
        "for numerical work, although explicit finite difference schemes still need a time step smaller than a "
        "limit set by the grid spacing, a condition that students usually meet when their simulation suddenly "
        "blows up.",
        "A fundamental solution describes what happens to a single point of heat released at time zero. In one "
        "dimension it is a Gaussian whose variance grows linearly with time, and any other initial temperature "
        "profile evolves as a superposition of such Gaussians centred on each point. The same kernel appears in "
        "probability as the density of Brownian motion, which links heat flow to random walks.",
    ), r"\frac{\partial u}{\partial t} = \alpha \nabla^2 u", "katex"),
    Topic("snell-law", "Refraction and Snell's law", "physics", (
        "Light travels more slowly in glass or water than in a vacuum, and the ratio of the two speeds is the "
        "refractive index of the medium. When a ray crosses the boundary between two media at an angle, the "
        "change of speed bends it: entering a denser medium, the ray turns towards the normal to the surface, "
        "and leaving it, the ray turns away from the normal.",
        "The rule for the bending was found by Willebrord Snell in the seventeenth century from careful "
        "measurements. It follows from Fermat's principle, which states that light takes the path of least "
        "travel time between two points, and equally from matching the wave crests on both sides of the "
        "interface.",
        "When light passes from a dense medium into a less dense one, there is a critical angle beyond which no "
        "refracted ray exists and all of the light is reflected back. Optical fibres rely on this total internal "
        "reflection to guide signals over thousands of kilometres with little loss, and diamonds sparkle because "
        "their high index makes the critical angle small.",
        "The index also depends weakly on wavelength, an effect called dispersion. Blue light is slowed slightly "
        "more than red light, so a prism fans white light into a spectrum and a rainbow forms when sunlight is "
        "refracted and reflected inside falling raindrops.",
        "Refraction is one face of the wave nature of light. In the electromagnetic picture, the oscillating "
        "electric field of the wave drives the electrons of the medium, which radiate in turn, and the sum of the "
        "incident and re-radiated waves travels at the reduced phase velocity. The frequency stays the same "
        "across the boundary while the wavelength shrinks, a fact exploited in optical instruments from "
        "microscopes to the lenses that focus a laser beam.",
    ), r"n_1 \sin\theta_1 = n_2 \sin\theta_2", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><msub><mi>n</mi><mn>1</mn></msub><mi>sin</mi>'
               '<msub><mi>θ</mi><mn>1</mn></msub><mo>=</mo><msub><mi>n</mi><mn>2</mn></msub><mi>sin</mi>'
               '<msub><mi>θ</mi><mn>2</mn></msub></math>',
        table=(("Medium", "Refractive index (589 nm)", "Critical angle to air"), ("Water", "1.333", "48.6°"),
               ("Crown glass", "1.52", "41.1°"), ("Diamond", "2.417", "24.4°"))),
    Topic("eigenvalues", "Eigenvalues and eigenvectors of a matrix", "mathematics", (
        "A square matrix acts on vectors by stretching, rotating and shearing them. Some special nonzero vectors "
        "keep their direction under this action and are only scaled by a number. Such a vector is an eigenvector "
        "of the matrix, and the scaling factor is the corresponding eigenvalue.",
        "The eigenvalues are the roots of the characteristic polynomial, obtained by setting the determinant of "
        "the matrix minus lambda times the identity to zero. An n by n matrix therefore has exactly n eigenvalues "
        "when they are counted with multiplicity and complex roots are allowed. Their sum equals the trace of the "
        "matrix and their product equals its determinant, two identities that make quick checks possible.",
        "A symmetric real matrix is especially well behaved. The spectral theorem guarantees that its "
        "eigenvalues are real and that it has an orthonormal basis of eigenvectors, so in that basis the matrix "
        "becomes diagonal. Principal component analysis exploits this property of covariance matrices to find "
        "the directions along which a data set varies most.",
        "Eigenvalues also decide the long-run behaviour of linear recurrences and differential equations. A "
        "system of the form x' = Ax is stable when every eigenvalue of A has a negative real part, and the "
        "powers of a matrix are dominated by its eigenvalue of largest modulus, which is the idea behind the "
        "power iteration used to rank web pages.",
    ), r"A\mathbf{v} = \lambda \mathbf{v}, \qquad \det(A - \lambda I) = 0", "mathjax"),
    Topic("binomial-theorem", "The binomial theorem and Pascal's triangle", "mathematics", (
        "Expanding a power of a sum such as (a + b) raised to the n produces a polynomial whose coefficients "
        "follow a striking pattern. The coefficient of the term with a to the k and b to the n minus k counts "
        "the ways of choosing k items from a set of n, and is written as a binomial coefficient.",
        "Arranging these coefficients in rows gives Pascal's triangle. Each entry is the sum of the two entries "
        "directly above it, a rule that mirrors the combinatorial identity: a subset of size k either contains a "
        "chosen element or it does not. The rows add up to powers of two, since every subset of an n-element set "
        "is counted exactly once.",
        "The theorem has many uses beyond algebra. Setting a and b to probabilities of success and failure gives "
        "the binomial distribution, the number of successes in n independent trials. Newton extended the "
        "expansion to fractional and negative exponents as an infinite series, which made it a tool of calculus "
        "for computing roots and approximations.",
        "Binomial coefficients also grow in a well-understood way. The central coefficient of row 2n is roughly "
        "four to the n divided by the square root of pi times n, an estimate that follows from Stirling's "
        "formula for the factorial and appears in random walk problems.",
    ), r"(a+b)^n = \sum_{k=0}^{n} \binom{n}{k} a^k b^{n-k}", "katex",
        table=(("n", "Row of Pascal's triangle", "Row sum"), ("0", "1", "1"), ("1", "1 1", "2"),
               ("2", "1 2 1", "4"), ("3", "1 3 3 1", "8"), ("4", "1 4 6 4 1", "16"))),
    Topic("dna-replication", "How cells copy their DNA", "biology", (
        "Before a cell divides, it must copy its entire genome so that each daughter cell receives a complete "
        "set of chromosomes. Replication is semiconservative: the two strands of the double helix separate, and "
        "each serves as a template for a new partner strand, so every new molecule keeps one old strand.",
        "Copying starts at sites called origins of replication, where a helicase unwinds the helix and forms two "
        "replication forks moving in opposite directions. DNA polymerase can only add nucleotides to the three "
        "prime end of a growing strand, so one strand is made continuously while the other, the lagging strand, "
        "is built in short Okazaki fragments that ligase later joins together.",
        "The polymerase pairs adenine with thymine and guanine with cytosine, and it checks its own work. A "
        "proofreading exonuclease removes most wrongly inserted bases, and mismatch repair enzymes fix many of "
        "the rest, so that only about one error in a billion bases survives each round of copying.",
        "The ends of linear chromosomes pose a special problem because the lagging strand cannot be finished to "
        "the very tip. Telomeres, long runs of a short repeated sequence, protect the genes from this gradual "
        "shortening, and the enzyme telomerase rebuilds them in stem cells and in most cancer cells.",
        "Replication is fast as well as accurate. A bacterial fork moves at about a thousand nucleotides per "
        "second, so the single circular chromosome of Escherichia coli is copied in roughly forty minutes from "
        "one origin. Human cells copy a genome about a thousand times larger in several hours, which is possible "
        "only because replication starts at tens of thousands of origins spread along each chromosome.",
    ), "", "none"),
    Topic("logistic-growth", "Logistic growth of a population", "biology", (
        "A population with unlimited food and space grows exponentially, adding individuals at a rate "
        "proportional to its current size. Real populations soon meet limits: food runs short, nesting sites fill "
        "up and disease spreads more easily in crowded groups, so the per capita growth rate falls as the "
        "population becomes denser.",
        "The logistic model captures this with a single extra parameter, the carrying capacity, which is the "
        "largest population the habitat can support. Growth is nearly exponential while the population is small, "
        "fastest when it reaches half the carrying capacity, and slows to zero as it approaches the limit, "
        "tracing an S-shaped curve over time.",
        "Ecologists have fitted this curve to yeast cultures, to grey seals recovering after protection, and to "
        "bacteria in a flask of broth. Fisheries managers once used it to set the maximum sustainable yield, "
        "which the model places at half the carrying capacity, although fluctuating environments make such "
        "targets risky in practice.",
        "The discrete version of the model, in which generations do not overlap, behaves very differently. For "
        "high growth rates the population oscillates between two, four and then many values before becoming "
        "chaotic, a discovery that showed biologists how simple density dependence can produce erratic dynamics.",
        "Real populations rarely follow the curve exactly. Births respond to conditions with a delay, because "
        "animals that are well fed this year reproduce next year, and such delays can make a population overshoot "
        "the carrying capacity and then crash. Predators, parasites and weather add further variation, so "
        "ecologists treat the logistic model as a first approximation to be extended rather than as a law.",
    ), r"\frac{dN}{dt} = r N \left(1 - \frac{N}{K}\right)", "mathjax"),
    Topic("buffer-ph", "Acids, bases and buffer solutions", "chemistry", (
        "The acidity of an aqueous solution is measured by its pH, the negative base ten logarithm of the "
        "hydrogen ion concentration. Pure water at twenty five degrees Celsius has a pH of seven, acidic solutions "
        "lie below that value and basic ones above it, and each unit step corresponds to a tenfold change in "
        "hydronium concentration.",
        "A weak acid only partly dissociates in water, and the extent of dissociation is described by its acid "
        "dissociation constant. Chemists usually quote the pKa, the negative logarithm of that constant: acetic "
        "acid has a pKa near 4.76, while the ammonium ion, a much weaker acid, has a pKa close to 9.25.",
        "A buffer is a mixture of a weak acid and its conjugate base in comparable amounts. When a strong acid is "
        "added, the base consumes the extra protons; when a strong base is added, the acid neutralises it. The "
        "pH therefore changes only slightly, and the Henderson-Hasselbalch equation predicts it from the pKa and "
        "the ratio of the two concentrations.",
        "Buffers are most effective within about one pH unit of their pKa. Blood relies on the carbonic acid and "
        "bicarbonate pair to stay between pH 7.35 and 7.45, and biochemists choose phosphate, Tris or HEPES "
        "buffers so that enzymes keep their native charge state during an experiment.",
        "Titration curves make buffering visible. As a strong base is added drop by drop to acetic acid, the pH "
        "climbs steeply at first, then flattens through a broad region centred on the pKa, where the acid and its "
        "conjugate base are present in similar amounts, before rising sharply again at the equivalence point. An "
        "indicator such as phenolphthalein changes colour in that final steep section.",
    ), r"\mathrm{pH} = \mathrm{p}K_a + \log_{10} \frac{[\mathrm{A^-}]}{[\mathrm{HA}]}", "katex",
        table=(("Acid", "Conjugate base", "pKa at 25 °C"), ("Acetic acid", "acetate", "4.76"),
               ("Dihydrogen phosphate", "hydrogen phosphate", "7.20"), ("Ammonium", "ammonia", "9.25"),
               ("Carbonic acid", "bicarbonate", "6.35"))),
    Topic("arrhenius", "Temperature and the rate of a reaction", "chemistry", (
        "Most chemical reactions speed up when the mixture is warmed. A common rule of thumb says that the rate "
        "roughly doubles for every ten degree rise near room temperature, but the underlying dependence is "
        "exponential and was described quantitatively by Svante Arrhenius in 1889.",
        "In the Arrhenius picture, reacting molecules must collide with at least a minimum energy, the activation "
        "energy, before bonds can rearrange. The fraction of collisions that are energetic enough grows steeply "
        "with temperature according to the Boltzmann factor, while the pre-exponential factor accounts for how "
        "often molecules meet in a suitable orientation.",
        "Plotting the natural logarithm of the rate constant against the reciprocal of the absolute temperature "
        "gives a straight line whose slope is minus the activation energy divided by the gas constant. Kinetic "
        "studies use this plot to extract activation energies from rates measured at a few temperatures.",
        "A catalyst offers an alternative reaction pathway with a lower activation energy, so it raises the rate "
        "without being consumed and without changing the position of equilibrium. Platinum in a car's catalytic "
        "converter and the iron catalyst of the Haber process for ammonia are industrial examples of this "
        "principle.",
        "The activation energy can be read from the temperature sensitivity directly. A reaction whose rate "
        "doubles between twenty five and thirty five degrees has an activation energy of about fifty three "
        "kilojoules per mole, which is typical of many reactions in solution. Food chemists use the same analysis "
        "to predict shelf life, because storage tests at higher temperatures reveal in weeks the spoilage that "
        "would take months in a cupboard.",
    ), r"k = A\, e^{-E_a / (R T)}", "mathjax"),
    Topic("nernst", "Electrode potentials and the Nernst equation", "chemistry", (
        "A galvanic cell converts the free energy of a redox reaction into electrical work. Oxidation takes place "
        "at the anode and reduction at the cathode, and electrons flow through the external circuit while ions "
        "carry the charge through the electrolyte and the salt bridge between the half-cells.",
        "Each half-reaction is assigned a standard reduction potential, measured against the standard hydrogen "
        "electrode under standard conditions of one molar concentrations and one bar of gas pressure. The cell "
        "voltage is the difference between the cathode and anode potentials, and a positive value means the "
        "reaction proceeds spontaneously.",
        "When concentrations differ from the standard values, the Nernst equation corrects the potential using "
        "the reaction quotient. At room temperature a tenfold change in the ratio shifts the potential of a "
        "one-electron couple by about 59 millivolts, which is exactly the response that a glass pH electrode "
        "exploits.",
        "The same relation links electrochemistry to thermodynamics: the standard cell potential determines the "
        "equilibrium constant of the reaction. Batteries, corrosion of metals and the membrane potential of "
        "nerve cells can all be analysed with this single equation.",
        "Concentration cells show the equation in its simplest form. Two copper electrodes dipped into copper "
        "sulphate solutions of different strength produce a small voltage even though the chemistry on both sides "
        "is identical, because the system gains free energy as the concentrations even out. Such cells explain "
        "why a local difference in oxygen or salt concentration can drive corrosion under paint or in crevices.",
    ), r"E = E^\circ - \frac{R T}{n F} \ln Q", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>E</mi><mo>=</mo><msup><mi>E</mi><mo>∘</mo>'
               '</msup><mo>-</mo><mfrac><mrow><mi>R</mi><mi>T</mi></mrow><mrow><mi>n</mi><mi>F</mi></mrow>'
               '</mfrac><mi>ln</mi><mi>Q</mi></math>',
        table=(("Half-reaction", "Standard potential (V)"), ("Li⁺ + e⁻ → Li", "-3.04"),
               ("Zn²⁺ + 2e⁻ → Zn", "-0.76"),
               ("2H⁺ + 2e⁻ → H₂", "0.00"), ("Cu²⁺ + 2e⁻ → Cu", "+0.34"), ("F₂ + 2e⁻ → 2F⁻", "+2.87"))),
    Topic("le-chatelier", "Chemical equilibrium and Le Chatelier's principle", "chemistry", (
        "Many reactions do not run to completion. Instead the forward and reverse reactions continue at equal "
        "rates, and the concentrations of reactants and products stop changing even though molecules keep "
        "reacting. This dynamic balance is called chemical equilibrium.",
        "The equilibrium constant expresses the balance as a ratio: the product of the product concentrations, "
        "each raised to its stoichiometric coefficient, divided by the corresponding product for the reactants. "
        "A large constant means the mixture at equilibrium is mostly products, and the value depends only on "
        "temperature.",
        "Le Chatelier's principle predicts how an equilibrium responds to a disturbance. Adding a reactant, "
        "removing a product or compressing a gas mixture shifts the composition in the direction that partly "
        "counteracts the change. For the synthesis of ammonia from nitrogen and hydrogen, four gas molecules "
        "become two, so high pressure favours the product.",
        "Temperature is different because it changes the constant itself. The ammonia synthesis releases heat, "
        "so its equilibrium yield falls as the temperature rises; industrial plants nevertheless run at around "
        "four hundred and fifty degrees Celsius because the rate would otherwise be far too slow, a classic "
        "compromise between thermodynamics and kinetics.",
        "The principle applies beyond industrial chemistry. In the blood, haemoglobin binds oxygen in the lungs, "
        "where its partial pressure is high, and releases it in working muscles, where carbon dioxide and acid "
        "shift the equilibrium towards the unbound form. For example, climbers at altitude adapt over weeks "
        "partly by raising the concentration of a molecule that adjusts this balance.",
    ), r"K_c = \frac{[\mathrm{NH_3}]^2}{[\mathrm{N_2}][\mathrm{H_2}]^3}", "katex"),
    Topic("hypertension", "High blood pressure: diagnosis and treatment", "medicine", (
        "Blood pressure is recorded as two numbers in millimetres of mercury: the systolic pressure while the "
        "heart contracts and the diastolic pressure while it relaxes between beats. Hypertension is diagnosed "
        "when repeated measurements stay at or above a threshold, commonly 140 over 90 in the clinic or a lower "
        "value for home readings averaged over a week.",
        "Most patients have primary hypertension with no single identifiable cause; age, salt intake, obesity, "
        "physical inactivity and heredity all contribute. A minority have secondary hypertension caused by kidney "
        "disease, an adrenal tumour or narrowing of a renal artery, and clinicians look for these causes in young "
        "patients or when pressure resists treatment.",
        "Untreated high blood pressure damages the arteries silently over years and raises the risk of stroke, "
        "heart attack, heart failure and chronic kidney disease. Large randomised trials have shown that lowering "
        "the systolic pressure by about ten millimetres reduces major cardiovascular events by roughly a fifth.",
        "Treatment starts with lifestyle measures: less salt, regular exercise, weight loss and moderate alcohol "
        "intake. When drugs are needed, first-line classes include ACE inhibitors, angiotensin receptor blockers, "
        "calcium channel blockers and thiazide diuretics, often combined at low doses to limit side effects.",
        "Measurement technique matters more than many people expect, because a single reading in a busy clinic is "
        "often higher than the patient's usual pressure. The cuff must fit the arm, the patient should sit "
        "quietly for five minutes first, and the arm should rest at heart level. For this reason guidelines "
        "recommend confirming a raised clinic reading with ambulatory monitoring over twenty four hours, which "
        "also reveals whether pressure falls normally at night.",
    ), "", "none",
        table=(("Category", "Systolic (mmHg)", "Diastolic (mmHg)"), ("Optimal", "below 120", "below 80"),
               ("High normal", "130-139", "85-89"), ("Grade 1 hypertension", "140-159", "90-99"),
               ("Grade 2 hypertension", "160-179", "100-109"))),
    Topic("herd-immunity", "Vaccination and the herd immunity threshold", "medicine", (
        "A vaccine trains the immune system to recognise a pathogen without causing the disease. It presents an "
        "antigen, such as an inactivated virus, a purified protein or messenger RNA that instructs cells to make "
        "one, and the body responds with antibodies and memory lymphocytes that act quickly upon later exposure.",
        "The spread of an infection in a fully susceptible population is summarised by the basic reproduction "
        "number, the average number of people one case infects. When enough people are immune, each case infects "
        "fewer than one other person on average and outbreaks die out, which protects infants and patients who "
        "cannot be vaccinated themselves.",
        "The critical fraction of immune people follows from the reproduction number alone. For measles, whose "
        "basic reproduction number lies between twelve and eighteen, more than ninety two percent of the "
        "population must be immune, which is why two doses of the vaccine and high coverage are essential.",
        "Vaccine effectiveness below one hundred percent raises the required coverage further, and waning "
        "immunity means some vaccines need boosters. Surveillance of notified cases and serological surveys "
        "tell public health agencies whether the threshold is actually being met in each region.",
        "Before a vaccine is licensed, randomized clinical trials compare its effect with a placebo in thousands "
        "of volunteers, and adverse events are recorded after each dose. After approval, public health agencies "
        "monitor the incidence of the disease and of rare side effects, and physicians and nurses in every clinic "
        "play a central part in explaining the risks and benefits of vaccination to patients and parents.",
        "The threshold formula is a simplification, however. It assumes that people mix at random, whereas in "
        "reality unvaccinated children often cluster in the same schools and communities. This means that "
        "outbreaks can occur even when national coverage looks adequate, as the evidence from several European "
        "measles epidemics has shown, and it explains why local coverage data are needed.",
    ), r"p_c = 1 - \frac{1}{R_0}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><msub><mi>p</mi><mi>c</mi></msub><mo>=</mo>'
               '<mn>1</mn><mo>-</mo><mfrac><mn>1</mn><msub><mi>R</mi><mn>0</mn></msub></mfrac></math>',
        table=(("Disease", "Basic reproduction number", "Herd immunity threshold"), ("Measles", "12-18", "92-94%"),
               ("Pertussis", "12-17", "92-94%"), ("Polio", "5-7", "80-86%"), ("Seasonal influenza", "1.2-1.8",
                                                                              "17-44%"))),
    Topic("pharmacokinetics", "Drug half-life and repeated dosing", "medicine", (
        "After a tablet is swallowed, the drug is absorbed into the bloodstream, distributed to the tissues, "
        "metabolised mainly by the liver and excreted mostly by the kidneys. Pharmacokinetics describes these "
        "processes quantitatively so that doctors can choose a dose and a dosing interval for each patient.",
        "For many drugs elimination is a first-order process: a constant fraction of the drug in the body is "
        "removed per unit time. The plasma concentration then falls exponentially, and the elimination half-life "
        "depends on the volume of distribution and on the clearance, the volume of plasma cleared of drug per "
        "hour.",
        "When the same dose is given at regular intervals, the concentration rises with each dose until intake "
        "and elimination balance. This steady state is reached after about four to five half-lives regardless of "
        "the dose, which is why a loading dose is used for drugs such as amiodarone whose half-life is measured "
        "in weeks.",
        "Kidney or liver disease reduces clearance and prolongs the half-life, so the drug accumulates. Doses of "
        "aminoglycoside antibiotics and digoxin are therefore adjusted to the estimated glomerular filtration "
        "rate, and their plasma levels are monitored to keep them within a narrow therapeutic window.",
        "Age changes these processes as well. In elderly patients kidney function declines and the proportion of "
        "body fat rises, so fat-soluble drugs such as diazepam have a larger volume of distribution and a much "
        "longer half-life. For example, a dose that suits a young adult can cause confusion and falls in an older "
        "person, which is why prescribing guides recommend starting low and increasing slowly.",
    ), r"t_{1/2} = \frac{\ln 2 \cdot V_d}{CL}", "katex"),
    Topic("antibiotic-resistance", "How bacteria become resistant to antibiotics", "medicine", (
        "Antibiotics kill bacteria or stop their growth by attacking structures that human cells lack, such as "
        "the peptidoglycan cell wall or the bacterial ribosome. Penicillins block the enzymes that cross-link the "
        "wall, while macrolides and tetracyclines bind to the ribosome and halt protein synthesis.",
        "Resistance arises through mutation and through the transfer of resistance genes between bacteria on "
        "plasmids. Common mechanisms include enzymes that destroy the drug, such as beta-lactamases, efflux pumps "
        "that expel it from the cell, and altered targets to which the drug no longer binds.",
        "Every course of antibiotics selects for resistant strains, both in the pathogen and in the harmless "
        "flora of the gut. Prescribing them for viral colds, stopping treatment erratically and routine use in "
        "livestock farming all accelerate the process, and infections with methicillin-resistant Staphylococcus "
        "aureus or carbapenem-resistant Enterobacterales now cause many deaths in hospitals.",
        "Stewardship programmes aim to preserve existing drugs. Clinicians take cultures before starting "
        "treatment, choose the narrowest effective agent, and review the prescription after forty eight hours; "
        "hand hygiene and isolation of colonised patients limit the spread of resistant organisms between wards.",
        "For patients the consequences are concrete. Treatment of a resistant infection is often delayed until "
        "laboratory results arrive, second-line drugs may be more toxic or must be given intravenously in "
        "hospital, and mortality is higher. Surgery, chemotherapy for cancer and the care of premature infants "
        "all depend on effective antibiotics to prevent and treat infections, so resistance threatens much of "
        "modern healthcare.",
        "New antibiotics are scarce, partly because the scientific problem is hard and partly because the "
        "economics are poor: a new drug held in reserve for resistant infections earns little. For example, no "
        "truly new class active against Gram-negative bacteria reached the market for several decades. "
        "Governments have therefore begun to test subscription-style payments that reward companies for "
        "developing drugs which are then used sparingly.",
    ), "", "none"),
    Topic("insulin-diabetes", "Insulin and type 1 and type 2 diabetes", "medicine", (
        "Insulin is a peptide hormone secreted by the beta cells of the pancreatic islets when blood glucose "
        "rises after a meal. It allows muscle and fat cells to take up glucose, tells the liver to store it as "
        "glycogen, and suppresses the release of fatty acids from adipose tissue.",
        "In type 1 diabetes an autoimmune reaction destroys the beta cells, usually in childhood or early "
        "adulthood, and patients depend on insulin injections or a pump for life. Without insulin the body "
        "breaks down fat uncontrollably and ketoacidosis can develop within days, a medical emergency.",
        "Type 2 diabetes is far more common and begins with insulin resistance, often linked to abdominal "
        "obesity and inactivity, followed by a gradual decline in insulin secretion. Diagnosis rests on a "
        "fasting plasma glucose of at least seven millimoles per litre or a glycated haemoglobin of at least "
        "forty eight millimoles per mole.",
        "Long-term high glucose damages small vessels in the retina, kidneys and nerves and accelerates "
        "atherosclerosis. Metformin is the usual first drug in type 2 disease, and newer classes such as SGLT2 "
        "inhibitors and GLP-1 receptor agonists also reduce cardiovascular and renal complications in clinical "
        "trials.",
        "Good care combines medication with education and regular review. Patients learn to monitor their "
        "glucose, to adjust the insulin dose to meals and exercise, and to recognise the symptoms of "
        "hypoglycaemia. Annual checks of the eyes, feet and kidney function detect complications early, and "
        "control of blood pressure and cholesterol matters as much as glucose for lowering the risk of stroke and "
        "heart failure.",
        "The reason type 2 diabetes so often goes unnoticed is that moderately raised glucose causes few "
        "symptoms. Many people are diagnosed only when a routine blood test is done or when a complication has "
        "already appeared. Screening of adults with risk factors such as obesity, a family history or a previous "
        "diabetes in pregnancy therefore finds the disease years earlier, when lifestyle change is most "
        "effective.",
    ), r"\mathrm{HbA_{1c}}\,(\%) = 0.0915 \times \mathrm{HbA_{1c}}\,(\mathrm{mmol/mol}) + 2.15", "mathjax"),
    Topic("hash-tables", "Hash tables and expected constant-time lookup", "computer_science", (
        "A hash table stores key-value pairs in an array of buckets. A hash function maps each key to an integer, "
        "which is reduced modulo the number of buckets to pick where the pair goes. Looking up a key recomputes "
        "the hash and inspects only that bucket, so the cost does not grow with the number of stored items as "
        "long as the buckets stay short.",
        "Two keys can land in the same bucket, a collision. Separate chaining keeps a small linked list in each "
        "bucket, while open addressing probes other slots of the array in a fixed sequence, as in linear probing "
        "or double hashing. Linear probing is very fast on modern processors because consecutive slots share "
        "cache lines.",
        "The load factor, the ratio of stored items to buckets, controls performance. With a good hash function "
        "the expected chain length equals the load factor, so implementations double the array and rehash every "
        "item when the load passes a threshold such as three quarters. Averaged over many insertions, this "
        "resizing costs only a constant amount of extra work per insertion.",
        "A poor or predictable hash function can make every key collide, turning lookups into a linear scan. "
        "Attackers have used this to slow down web servers by sending crafted request parameters, which is why "
        "languages such as Python and Rust now seed their string hashing with a random key at start-up.",
        "Hash tables underlie many everyday programs: the dictionaries of Python, the maps of Java, the symbol "
        "tables of a compiler and the caches of a database server all rely on them. Distributed systems extend "
        "the idea with consistent hashing, which assigns keys to the servers of a network so that adding or "
        "removing a machine moves only a small share of the data.",
    ), r"\mathbb{E}[\text{probes}] \approx \frac{1}{2}\left(1 + \frac{1}{(1-\alpha)^2}\right)", "katex",
        table=(("Load factor", "Expected probes, successful search", "Expected probes, unsuccessful search"),
               ("0.50", "1.5", "2.5"), ("0.75", "2.5", "8.5"), ("0.90", "5.5", "50.5"))),
    Topic("dijkstra", "Dijkstra's shortest path algorithm", "computer_science", (
        "Given a graph whose edges carry nonnegative lengths, Dijkstra's algorithm finds the shortest distance "
        "from a source vertex to every other vertex. It was published by Edsger Dijkstra in 1959 and remains "
        "the core of route planners and of link-state routing protocols such as OSPF.",
        "The algorithm keeps a tentative distance for each vertex, starting at zero for the source and infinity "
        "elsewhere. It repeatedly removes the unvisited vertex with the smallest tentative distance from a "
        "priority queue and relaxes its outgoing edges: if going through that vertex gives a shorter route to a "
        "neighbour, the neighbour's distance is lowered.",
        "Correctness rests on the nonnegative weights. When a vertex is removed from the queue, no later path "
        "can reach it more cheaply, because any such path would have to pass through a vertex whose distance is "
        "already at least as large. With a negative edge this argument fails, and the Bellman-Ford algorithm "
        "must be used instead.",
        "With a binary heap the running time is proportional to the number of edges times the logarithm of the "
        "number of vertices. Road networks with millions of junctions are still too large for interactive "
        "queries, so navigation systems precompute shortcuts or landmarks and then search only a small part of "
        "the graph.",
        "When a good estimate of the remaining distance is available, the A* algorithm improves on Dijkstra's "
        "method by adding that estimate to each vertex's priority. On a road map, the straight-line distance to "
        "the destination never overestimates the true road distance, which guarantees that A* still finds the "
        "shortest path while expanding far fewer vertices in the direction away from the target.",
    ), r"d(v) \leftarrow \min\bigl(d(v),\; d(u) + w(u, v)\bigr)", "mathjax"),
    Topic("rsa", "Public-key encryption with RSA", "computer_science", (
        "Before public-key cryptography, two parties had to share a secret key in advance to communicate "
        "privately. The RSA scheme, described by Rivest, Shamir and Adleman in 1977, lets anyone encrypt a "
        "message with a published key while only the holder of a matching private key can decrypt it.",
        "Key generation picks two large random primes and multiplies them to form the modulus. A public exponent, "
        "usually 65537, is chosen, and the private exponent is its inverse modulo the Carmichael function of the "
        "modulus, which is easy to compute when the two primes are known but believed to be infeasible otherwise.",
        "Encryption raises the message, encoded as a number smaller than the modulus, to the public exponent; "
        "decryption raises the ciphertext to the private exponent. Euler's theorem guarantees that the two "
        "operations undo each other. Signing works in reverse: the owner applies the private exponent, and "
        "anyone can verify the signature with the public one.",
        "Security depends on the difficulty of factoring the modulus, and keys of at least 2048 bits are "
        "recommended today. Textbook RSA is deterministic and malleable, so real systems pad messages with "
        "randomised schemes such as OAEP, and a large quantum computer running Shor's algorithm would break the "
        "scheme entirely.",
        "Implementations must also resist side-channel attacks. Early software leaked the private key through "
        "tiny variations in runtime that depended on the bits of the exponent, and an attacker could measure "
        "those timings over a network, so modern cryptography libraries use constant-time code and blinding. In "
        "practice RSA encryption protects only a short random session key, while fast symmetric ciphers handle "
        "the bulk of the data in the protocols that secure internet traffic.",
    ), r"c \equiv m^e \pmod{N}, \qquad m \equiv c^d \pmod{N}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>c</mi><mo>≡</mo><msup><mi>m</mi><mi>e</mi>'
               '</msup><mspace width="0.5em"/><mo>(</mo><mi>mod</mi><mi>N</mi><mo>)</mo></math>'),
    Topic("gradient-descent", "Training a neural network by gradient descent", "computer_science", (
        "A neural network is a function with millions of adjustable parameters. Training it means choosing those "
        "parameters so that a loss function, which measures the mismatch between the network's predictions and "
        "the labels of the training examples, becomes small.",
        "Gradient descent moves the parameters a small step against the gradient of the loss, the direction in "
        "which the loss increases fastest. The size of the step is the learning rate: too large and training "
        "diverges, too small and it crawls. Backpropagation computes the gradient efficiently by applying the "
        "chain rule layer by layer from the output back to the input.",
        "Computing the exact gradient over a data set of millions of examples is wasteful, so stochastic gradient "
        "descent estimates it from a small random minibatch at every step. The noise in this estimate even helps "
        "the optimiser escape poor regions of the loss surface, and variants such as momentum and Adam adapt the "
        "step to the recent history of gradients.",
        "To judge whether a trained model generalises, practitioners hold out a validation set that the optimiser "
        "never sees. When the training loss keeps falling while the validation loss rises, the network is "
        "overfitting, and remedies include weight decay, dropout, data augmentation and stopping early.",
        "The learning rate is rarely held constant. Training usually begins with a short warmup, in which the "
        "rate grows from a small value, and then follows a schedule such as cosine decay that lowers it as the "
        "loss flattens. Large models are trained in parallel on many GPUs, each computing gradients on its own "
        "share of the batch before the results are averaged, so that a single step uses thousands of examples.",
    ), r"\theta_{t+1} = \theta_t - \eta \nabla_\theta L(\theta_t)", "mathjax"),
    Topic("plate-tectonics", "Plate tectonics and the moving seafloor", "earth_environment", (
        "The outer shell of the Earth, the lithosphere, is broken into about a dozen large plates and many small "
        "ones that move relative to each other at a few centimetres per year, about as fast as fingernails grow. "
        "They ride on the asthenosphere, a hotter and weaker layer of the upper mantle that flows slowly over "
        "geological time.",
        "At mid-ocean ridges the plates pull apart and basaltic magma rises to create new oceanic crust. Magnetic "
        "minerals in the cooling lava record the direction of the geomagnetic field, and because the field "
        "reverses from time to time, the seafloor carries symmetric stripes of normal and reversed magnetisation "
        "on either side of each ridge.",
        "Where plates converge, dense oceanic lithosphere sinks back into the mantle at subduction zones, marked "
        "by deep trenches, chains of volcanoes and the largest earthquakes. Where two continents collide, neither "
        "sinks easily and the crust thickens into mountain belts such as the Himalaya and the Alps.",
        "Transform faults connect the other boundaries, and plates slide horizontally past each other along them. "
        "The San Andreas Fault in California is the best-known example on land. Satellite positioning now "
        "measures plate motions directly and confirms the rates inferred from the ages of the seafloor stripes.",
        "The driving forces are still debated, but most geophysicists now think that the pull of sinking slabs at "
        "subduction zones is the largest contribution. Ridge push from the elevated, hot lithosphere at spreading "
        "centres adds a smaller force, and convection in the mantle as a whole supplies the heat. Plate speeds "
        "support this view, because plates attached to long subducting slabs, such as the Pacific plate, move "
        "fastest.",
    ), "", "none",
        table=(("Boundary type", "Relative motion", "Typical features"), ("Divergent", "apart",
                                                                          "mid-ocean ridge, rift valley"),
               ("Convergent", "together", "trench, volcanic arc, mountain belt"),
               ("Transform", "side by side", "strike-slip fault, shallow earthquakes"))),
    Topic("greenhouse-forcing", "The greenhouse effect and radiative forcing", "earth_environment", (
        "Sunlight passes through the atmosphere largely unhindered and warms the surface, which sheds the energy "
        "again as infrared radiation. Water vapour, carbon dioxide, methane and nitrous oxide absorb part of this "
        "outgoing infrared and re-emit it in all directions, so the surface is about thirty three degrees warmer "
        "than it would be without them.",
        "Raising the concentration of a greenhouse gas moves the level from which infrared escapes to space to "
        "higher and colder layers of the troposphere. Less energy leaves than arrives until the climate system "
        "warms, and the imbalance caused by the change is called radiative forcing, measured in watts per square "
        "metre.",
        "For carbon dioxide the forcing grows with the logarithm of the concentration, because the centre of its "
        "main absorption band is already saturated. Each doubling therefore adds roughly the same forcing, about "
        "3.7 watts per square metre, whether it starts from pre-industrial levels of 280 parts per million or "
        "from today's values above 420.",
        "The eventual warming also depends on feedbacks. A warmer atmosphere holds more water vapour, melting "
        "snow and sea ice darken the surface, and clouds respond in complex ways. Climate sensitivity, the "
        "equilibrium warming for a doubling of carbon dioxide, is most likely between about 2.5 and 4 degrees "
        "Celsius.",
        "Other gases and particles add their own forcing. Methane traps far more infrared per molecule than "
        "carbon dioxide but stays in the atmosphere for only about a decade, whereas aerosol pollution from "
        "sulphur emissions reflects sunlight and has masked part of the warming. For this reason cleaning up air "
        "quality slightly increases warming in the short term, even though it saves many lives.",
    ), r"\Delta F = 5.35 \ln\frac{C}{C_0}\ \mathrm{W\,m^{-2}}", "katex"),
    Topic("groundwater-darcy", "Groundwater flow and Darcy's law", "earth_environment", (
        "Below the water table, the pores and fractures of soil and rock are completely filled with water. A "
        "layer that stores and transmits enough of it to supply wells is an aquifer, and most of the fresh water "
        "that is not frozen in ice sheets is held underground rather than in lakes and rivers.",
        "In 1856 the engineer Henry Darcy measured water flowing through columns of sand for the fountains of "
        "Dijon. He found that the discharge is proportional to the cross-sectional area and to the drop in "
        "hydraulic head along the column, and inversely proportional to its length. The constant of "
        "proportionality is the hydraulic conductivity of the material.",
        "Hydraulic conductivity spans more than ten orders of magnitude. Clean gravel lets water pass quickly, "
        "while clay and unfractured granite are nearly impermeable and act as confining layers. Because of "
        "this, groundwater may move metres per day in a gravel aquifer but only millimetres per year through "
        "clay.",
        "Pumping a well lowers the head around it and forms a cone of depression. If withdrawals exceed recharge "
        "from rain and rivers, water tables fall over wide areas, wells run dry, and near coasts seawater can "
        "intrude into the aquifer, problems that hydrogeologists assess with numerical groundwater models.",
        "Darcy's law also underlies the study of contaminant transport. A solvent spilled at the surface seeps "
        "down to the water table and then travels with the groundwater, spreading into a plume whose shape "
        "depends on the flow direction and on the layering of the aquifer. Because flow is so slow, cleaning a "
        "polluted aquifer can take decades, which is why wellhead protection zones restrict land use around "
        "drinking water wells.",
    ), r"Q = -K A \frac{\Delta h}{L}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>Q</mi><mo>=</mo><mo>-</mo><mi>K</mi>'
               '<mi>A</mi><mfrac><mrow><mi>Δ</mi><mi>h</mi></mrow><mi>L</mi></mfrac></math>',
        table=(("Material", "Hydraulic conductivity (m/s)"), ("Gravel", "1e-3 to 1"), ("Clean sand", "1e-5 to 1e-2"),
               ("Silt", "1e-8 to 1e-5"), ("Clay", "1e-11 to 1e-8"))),
    Topic("earthquake-magnitude", "Measuring earthquakes: magnitude and intensity", "earth_environment", (
        "An earthquake happens when stress built up by plate motion is released suddenly as rock slips along a "
        "fault. Seismic waves radiate from the rupture: compressional P waves arrive first, followed by slower "
        "shear S waves and then surface waves that cause most of the shaking damage.",
        "Charles Richter defined the first magnitude scale in 1935 from the amplitude recorded by a standard "
        "seismometer in southern California. Modern seismology uses the moment magnitude, derived from the "
        "seismic moment, the product of the rock rigidity, the area of the fault that slipped and the average "
        "slip.",
        "The scale is logarithmic. One unit of magnitude corresponds to about thirty two times more energy "
        "released, so a magnitude seven event releases roughly a thousand times the energy of a magnitude five. "
        "The 2011 Tohoku earthquake off Japan, magnitude 9.1, ruptured a fault segment about four hundred "
        "kilometres long.",
        "Intensity is a separate measure that describes the effects at a particular place, such as felt shaking "
        "and damage to buildings. It depends on distance, depth and local soil: soft sediments amplify shaking, "
        "which is why parts of Mexico City built on an old lake bed suffer badly even from distant earthquakes.",
        "Earthquakes cannot be predicted to the day, but their long-term probability can be estimated. "
        "Seismologists combine the slip rates of known faults with the record of past earthquakes to produce "
        "hazard maps, which show the ground shaking expected with a given probability over fifty years. Building "
        "codes use these maps, and early warning systems buy seconds of warning by detecting the fast P waves "
        "before the damaging waves arrive.",
    ), r"M_w = \tfrac{2}{3}\left(\log_{10} M_0 - 9.1\right)", "mathjax"),
    Topic("ocean-acidification", "Ocean acidification and the marine carbon cycle", "earth_environment", (
        "The oceans have absorbed roughly a quarter of the carbon dioxide released by burning fossil fuels. "
        "Dissolved carbon dioxide reacts with seawater to form carbonic acid, which releases hydrogen ions and "
        "lowers the pH; the average surface ocean has fallen from about 8.2 to 8.05 since the industrial "
        "revolution.",
        "The extra hydrogen ions combine with carbonate ions to form bicarbonate, so the concentration of "
        "carbonate drops. Corals, oysters, pteropods and many plankton build shells and skeletons from calcium "
        "carbonate, and they must spend more energy to do so when the water is less saturated with respect to "
        "aragonite and calcite.",
        "Cold polar waters dissolve more gas and are naturally less saturated, so they are expected to become "
        "corrosive to aragonite first. Upwelling along the western coasts of continents already brings "
        "carbon-rich deep water to the surface, and oyster hatcheries in the Pacific Northwest have lost larvae "
        "during such events.",
        "Time series stations near Hawaii and Bermuda have tracked the decline in pH for decades, closely "
        "following the rise in atmospheric carbon dioxide measured at Mauna Loa. Over thousands of years the "
        "dissolution of carbonate sediments on the seafloor will neutralise the added acid, but far too slowly "
        "to help ecosystems this century.",
        "Acidification adds to other pressures on marine ecosystems. Warming of the ocean, falling oxygen levels "
        "and coastal pollution from agricultural nutrients all stress coral reefs, and satellite observations "
        "show that bleaching events have become more frequent. Climate projections show further declines in pH "
        "unless emissions of carbon dioxide fall, with the largest changes expected in the Arctic and in coastal "
        "upwelling regions.",
    ), "", "none"),
    Topic("stress-strain", "Stress, strain and the tensile test", "materials_engineering", (
        "Engineers compare materials by pulling standard specimens apart in a tensile testing machine. The load "
        "divided by the original cross-sectional area is the engineering stress, and the extension divided by "
        "the original gauge length is the strain. Plotting one against the other gives the stress-strain curve, "
        "a fingerprint of the material's mechanical behaviour.",
        "At small strains most metals deform elastically: the specimen returns to its original length when "
        "unloaded, and stress is proportional to strain. The slope of this linear region is Young's modulus, "
        "about 200 gigapascals for steel and 70 for aluminium, which sets how much a beam or a shaft deflects "
        "under service loads.",
        "Beyond the yield strength, dislocations move through the crystal lattice and the deformation becomes "
        "permanent. The material hardens as dislocations tangle, the stress rises to the ultimate tensile "
        "strength, and then the specimen forms a neck where the cross-section shrinks rapidly until it "
        "fractures.",
        "Designers keep working stresses well below the yield strength by applying a factor of safety. The area "
        "under the curve up to fracture measures toughness, the energy absorbed per unit volume, and the "
        "elongation at fracture indicates ductility, so a brittle ceramic and a ductile copper wire differ "
        "sharply even if their strengths are similar.",
        "True stress and strain differ from the engineering values once the specimen deforms significantly, "
        "because the cross-section shrinks as the length grows. Dividing the load by the actual area shows that "
        "the material keeps getting stronger right up to fracture, even though the engineering curve falls after "
        "the maximum. Forming simulations for sheet metal therefore use the true stress-strain curve rather than "
        "the engineering one.",
    ), r"\sigma = E\,\varepsilon", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>σ</mi><mo>=</mo><mi>E</mi><mi>ε</mi></math>',
        table=(("Material", "Young's modulus (GPa)", "Yield strength (MPa)", "Elongation (%)"),
               ("Structural steel S355", "210", "355", "22"), ("Aluminium alloy 6061-T6", "69", "276", "12"),
               ("Titanium Ti-6Al-4V", "114", "880", "14"), ("Copper, annealed", "117", "70", "45"))),
    Topic("metal-fatigue", "Metal fatigue and the S-N curve", "materials_engineering", (
        "A component can fail under a load far below its tensile strength if the load is repeated many times. "
        "This process, fatigue, causes most mechanical failures in service, from aircraft skins and railway axles "
        "to crankshafts and bicycle frames.",
        "Fatigue begins with a microscopic crack, usually at the surface where stresses concentrate at a scratch, "
        "a sharp corner or an inclusion. Each load cycle extends the crack by a tiny amount, leaving beach marks "
        "and striations on the fracture surface, until the remaining section is too small and breaks suddenly.",
        "Test results are summarised in an S-N curve, which plots the stress amplitude against the number of "
        "cycles to failure on logarithmic axes. Over much of its range the curve follows Basquin's power law. "
        "Many steels show an endurance limit, a stress below which they survive indefinitely, whereas aluminium "
        "alloys keep weakening with more cycles.",
        "Designers improve fatigue life by generous fillet radii, smooth surface finishes and shot peening, "
        "which leaves compressive residual stress in the surface layer. Early jet airliners of the 1950s were "
        "lost because cracks grew from the corners of square windows, and aircraft have had rounded windows "
        "ever since.",
        "Cumulative damage under varying loads is usually estimated with Miner's rule. Each block of cycles at a "
        "given stress uses up a fraction of the life, equal to the number of cycles applied divided by the number "
        "to failure at that stress, and failure is predicted when the fractions add up to one. The rule ignores "
        "the order of loading and is therefore approximate, but it remains the standard design method for welded "
        "structures.",
    ), r"\sigma_a = \sigma_f' \,(2N_f)^{b}", "katex"),
    Topic("steel-heat-treatment", "Heat treatment of carbon steel", "materials_engineering", (
        "Steel is iron alloyed with a small amount of carbon, and its properties can be changed enormously "
        "without altering its composition, simply by heating and cooling it in controlled ways. The iron-carbon "
        "phase diagram maps which phases are stable at each temperature and carbon content.",
        "Above about 727 degrees Celsius, plain carbon steel transforms to austenite, a face-centred cubic phase "
        "that can dissolve carbon. Slow cooling lets the carbon diffuse out and form pearlite, a lamellar mixture "
        "of soft ferrite and hard iron carbide called cementite, giving a steel that is reasonably strong and "
        "easy to machine.",
        "Quenching in water or oil cools the austenite so quickly that the carbon has no time to escape. The "
        "lattice shears into martensite, a strained body-centred tetragonal structure that is very hard but "
        "brittle. Tempering, a reheating to between two and six hundred degrees, lets some carbon precipitate "
        "and restores toughness at a modest cost in hardness.",
        "Alloying elements such as chromium, molybdenum and nickel slow the transformation, so thicker sections "
        "can be hardened through their full depth. Time-temperature-transformation diagrams guide the choice of "
        "quench rate for each grade, and case hardening adds carbon only to the surface of gears and bearings.",
        "Heat treatment is a core step in manufacturing mechanical parts. The design specifies the hardness and "
        "tensile strength that a component needs, and the heat treater chooses the furnace cycle to match; a "
        "crankshaft may be induction hardened only where the load and the fatigue stress are highest. Hardness "
        "tests and microstructure examinations of sample coupons confirm that each batch of steel meets the "
        "engineering specification.",
    ), "", "none",
        table=(("Treatment", "Cooling or reheating", "Resulting structure", "Typical hardness (HV)"),
               ("Annealing", "furnace cool", "coarse pearlite and ferrite", "150"),
               ("Normalising", "air cool", "fine pearlite", "200"),
               ("Quenching", "water or oil", "martensite", "700"),
               ("Quench and temper", "reheat to 400 °C", "tempered martensite", "450"))),
    Topic("glass-transition", "Polymers and the glass transition", "materials_engineering", (
        "Polymers are long chain molecules built from repeating units, and their mechanical behaviour depends "
        "strongly on temperature. Below the glass transition temperature the chains are frozen in place and an "
        "amorphous polymer is hard and glassy; above it, segments of the chains can move and the material "
        "becomes rubbery or leathery.",
        "Polystyrene has a glass transition near one hundred degrees Celsius, so a drinking cup made of it is "
        "rigid at room temperature. Natural rubber's transition lies around minus seventy degrees, which keeps "
        "tyres flexible in winter, while PVC pipes become soft and pliable when a plasticiser lowers their "
        "transition.",
        "Engineers measure the transition by differential scanning calorimetry, which detects a step in heat "
        "capacity, or by dynamic mechanical analysis, where the storage modulus drops by orders of magnitude "
        "and the damping reaches a peak. The transition shifts with heating rate and molar mass, so "
        "datasheets state the method used.",
        "Semicrystalline polymers such as polyethylene and nylon also have a melting temperature for their "
        "crystalline regions. Between the two transitions they combine stiffness from the crystals with "
        "toughness from the rubbery amorphous phase, which is why they are used for gears, films and fibres.",
        "The glass transition sets the service limits of polymer components in engineering design. A "
        "thermoplastic housing loses stiffness and creeps under a sustained load as it approaches the transition, "
        "so designers choose materials whose transition lies well above the operating temperature. Fibre- "
        "reinforced composites for aircraft and wind turbine blades use epoxy matrices with high glass "
        "transitions, and their fabrication includes a curing cycle that raises it further.",
    ), r"\frac{1}{T_g} = \frac{w_1}{T_{g,1}} + \frac{w_2}{T_{g,2}}", "mathjax"),
    Topic("concrete-strength", "Concrete: water-cement ratio and strength", "materials_engineering", (
        "Concrete is a composite of aggregate, sand and Portland cement paste. When water is added, the cement "
        "minerals hydrate and form calcium silicate hydrate, a gel that binds the aggregate into an artificial "
        "stone. Concrete is strong in compression but weak in tension, so structural members are reinforced with "
        "steel bars placed where tension develops.",
        "The most important factor for strength is the ratio of water to cement by mass. Only about a quarter "
        "of the cement's mass in water is needed for complete hydration, and any extra water leaves capillary "
        "pores behind when it evaporates. Abrams observed in 1918 that strength falls exponentially as the "
        "ratio rises.",
        "Strength develops over weeks as hydration continues, and specifications refer to the compressive "
        "strength of standard cylinders or cubes after twenty eight days of moist curing. Concrete that dries "
        "out too early stops hydrating and cracks as it shrinks, which is why fresh slabs are covered or "
        "sprayed with curing compounds.",
        "Plasticising admixtures let builders reduce the water content while keeping the mix workable enough to "
        "pump and compact. Supplementary materials such as fly ash and ground blast furnace slag replace part of "
        "the cement, lowering the carbon footprint and improving resistance to chloride attack on the "
        "reinforcement.",
        "Structural engineers use the specified strength to design beams, columns and slabs, and they check the "
        "concrete delivered to site by crushing test cubes at fixed ages. Steel reinforcement must be protected "
        "by enough cover, since corrosion of the bars expands the steel and cracks the surrounding material. "
        "Durable structural design therefore considers not only the load but also the exposure of the concrete to "
        "salt, frost and carbon dioxide.",
    ), r"f_c = \frac{A}{B^{\,w/c}}", "katex",
        table=(("Water-cement ratio", "Typical 28-day strength (MPa)"), ("0.40", "42"), ("0.50", "35"),
               ("0.60", "28"), ("0.70", "22"))),
    Topic("kepler-orbits", "Kepler's laws and the orbits of planets", "physics", (
        "Johannes Kepler worked for years on Tycho Brahe's naked-eye observations of Mars before concluding that "
        "planets do not move on circles. Each planet travels on an ellipse with the Sun at one focus, and the "
        "line joining the planet to the Sun sweeps out equal areas in equal times, so a planet moves fastest "
        "when it is closest to the star.",
        "His third law relates the size of an orbit to its period: the square of the orbital period is "
        "proportional to the cube of the semi-major axis. Newton later derived all three laws from his law of "
        "universal gravitation, showing that the constant in the third law depends on the mass of the central "
        "body, which gives astronomers a way to weigh stars and planets from the motion of their companions.",
        "The second law is a statement of conservation of angular momentum. Because the gravitational force "
        "always points towards the Sun, it exerts no torque about it, and the product of the distance and the "
        "sideways velocity stays constant along the orbit.",
        "The same laws describe moons, artificial satellites and binary stars. Astronomers apply the third law "
        "to stars orbiting the centre of our galaxy to infer a black hole of about four million solar masses, "
        "and they use the tiny wobble of a star caused by its orbiting planet to discover planets around other "
        "stars.",
        "Spacecraft trajectories are planned with the same laws. A transfer from Earth to Mars follows half of an "
        "ellipse that touches both orbits, and the third law gives its duration of about eight and a half months. "
        "Because the two planets must be in the right positions when the craft leaves, such launch windows open "
        "only about every twenty six months.",
    ), r"T^2 = \frac{4\pi^2}{G M} a^3", "mathjax",
        table=(("Planet", "Semi-major axis (AU)", "Orbital period (years)", "a³ / T²"),
               ("Mercury", "0.387", "0.241", "1.00"), ("Earth", "1.000", "1.000", "1.00"),
               ("Mars", "1.524", "1.881", "1.00"), ("Jupiter", "5.203", "11.862", "1.00"))),
    Topic("randomized-trials", "Why medicine relies on randomized controlled trials", "medicine", (
        "When doctors want to know whether a new treatment works, they cannot simply compare patients who "
        "received it with those who did not. Sicker patients may be more likely to be given the new drug, or "
        "healthier ones more likely to ask for it, and such differences can create or hide an apparent effect.",
        "A randomized controlled trial removes this problem by allocating patients to the treatment or to a "
        "control group by chance. Randomization balances known and unknown risk factors between the groups on "
        "average, so a difference in outcomes that is larger than chance would explain can be attributed to the "
        "therapy itself.",
        "Blinding strengthens the design further. When neither the patients nor the clinicians assessing them "
        "know who received the active drug and who received a placebo, expectations cannot colour the reported "
        "symptoms or the assessment of outcomes such as pain, depression or disease progression.",
        "Results are reported as relative and absolute effects. If a drug reduces the risk of stroke from four to "
        "three percent over five years, the relative reduction is twenty five percent, but one hundred patients "
        "must be treated for five years to prevent one stroke, a figure called the number needed to treat that "
        "helps patients and physicians weigh benefits against adverse events.",
        "Trials also have limits. Participants are often younger and healthier than the patients who will later "
        "receive the drug, and follow-up rarely lasts long enough to detect late harms. For this reason "
        "regulators combine trial evidence with observational cohort studies and registries after approval, and "
        "systematic reviews pool the results of many trials, which gives more precise estimates than any single "
        "study.",
    ), r"\mathrm{NNT} = \frac{1}{p_{\text{control}} - p_{\text{treated}}}", "katex",
        table=(("Phase", "Participants", "Main question"), ("Phase I", "20-80", "safety and dosage"),
               ("Phase II", "100-300", "efficacy signal and side effects"),
               ("Phase III", "1,000-3,000", "effect on clinical outcomes versus standard treatment"),
               ("Phase IV", "after approval", "rare adverse events in routine use"))),
    Topic("compilers", "How a compiler turns source code into machine code", "computer_science", (
        "A compiler translates a program written in a high-level programming language into instructions that a "
        "processor can execute. The work is divided into phases, each transforming one representation of the "
        "program into another, so that the same compiler can support several languages and several kinds of "
        "hardware.",
        "The front end reads the source code as a stream of characters, groups them into tokens such as "
        "identifiers, numbers and operators, and parses the tokens into a syntax tree according to the grammar "
        "of the language. Semantic analysis then checks types, resolves names and reports errors such as "
        "calling a function with the wrong number of arguments.",
        "The middle end lowers the tree into an intermediate representation, often in static single assignment "
        "form, where every variable is assigned exactly once. Optimization passes work on this form: they fold "
        "constants, remove dead code, move invariant computations out of loops and inline small functions, "
        "each pass preserving the meaning of the program.",
        "The back end selects machine instructions, allocates the limited set of processor registers and spills "
        "the rest to memory, and schedules instructions to hide latency. Frameworks such as LLVM share one "
        "optimizer and many back ends, which is why a new language can reach x86, ARM and GPU targets with a "
        "modest implementation effort.",
        "Compilers must also be correct, since a bug in the optimizer silently breaks every program it builds. "
        "Projects therefore test compilers with large suites of programs and with random program generators that "
        "compare the output of different compilers and optimization levels. Such differential testing has found "
        "thousands of bugs in widely used compilers, many of them in passes that handle rarely used language "
        "features.",
    ), "", "none"),
    Topic("fibre-composites", "Fibre-reinforced composite materials", "materials_engineering", (
        "A composite combines two or more materials so that the result performs better than either alone. In "
        "fibre-reinforced polymers, stiff and strong fibres of glass, carbon or aramid carry the load, while a "
        "polymer matrix holds them in place, transfers stress between them and protects them from damage.",
        "Along the fibre direction, the stiffness of a unidirectional composite follows the rule of mixtures: "
        "the modulus is the volume-weighted average of the fibre and matrix moduli. Across the fibres the matrix "
        "dominates and the material is much weaker, so engineers stack plies at different angles to build a "
        "laminate that resists loads from several directions.",
        "Carbon fibre laminates reach a tensile strength comparable to high-strength steel at about a fifth of "
        "its density, which makes them attractive wherever mass matters: aircraft fuselages and wings, racing "
        "car chassis, bicycle frames and the blades of wind turbines, which can exceed one hundred metres in "
        "length.",
        "The same layered structure creates failure modes that metals do not have. An impact can cause "
        "delamination between plies that is invisible on the surface, so structural composite parts are "
        "inspected with ultrasonic methods, and design allowables include knockdown factors for damage, "
        "moisture and the scatter of manufacturing quality.",
        "Recycling is a growing concern for the industry. Thermoset matrices cannot simply be melted and "
        "reshaped, so most end-of-life composite parts have been sent to landfill or burned. Newer approaches "
        "recover carbon fibres by pyrolysis or chemical dissolution of the resin, and thermoplastic matrices that "
        "can be remelted and welded are being adopted for high-volume parts in the automotive sector.",
    ), r"E_c = V_f E_f + (1 - V_f) E_m", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><msub><mi>E</mi><mi>c</mi></msub><mo>=</mo>'
               '<msub><mi>V</mi><mi>f</mi></msub><msub><mi>E</mi><mi>f</mi></msub><mo>+</mo><mo>(</mo><mn>1</mn>'
               '<mo>-</mo><msub><mi>V</mi><mi>f</mi></msub><mo>)</mo><msub><mi>E</mi><mi>m</mi></msub></math>',
        table=(("Fibre", "Tensile modulus (GPa)", "Tensile strength (MPa)", "Density (g/cm³)"),
               ("E-glass", "72", "3,400", "2.54"), ("Carbon, standard modulus", "230", "4,900", "1.80"),
               ("Aramid", "124", "3,600", "1.44"))),
    Topic("entropy", "Entropy and the second law of thermodynamics", "physics", (
        "Heat flows by itself from a hot body to a cold one and never the other way. The second law of "
        "thermodynamics turns this everyday observation into a principle: the total entropy of an isolated "
        "system never decreases, and it increases in every real, irreversible process such as friction, mixing "
        "or heat flowing across a finite temperature difference.",
        "Clausius defined the entropy change of a system as the heat it absorbs reversibly divided by its "
        "absolute temperature. When heat passes from a hot reservoir to a cold one, the cold side gains more "
        "entropy than the hot side loses, because the same amount of heat is divided by a smaller temperature, "
        "and the total therefore grows.",
        "The law sets a hard limit on heat engines. An engine that takes heat from a hot source and rejects part "
        "of it to a cold sink can convert at most a fraction one minus the ratio of the absolute temperatures "
        "into work. A power station running between 800 and 300 kelvin can thus never exceed about sixty two "
        "percent efficiency, however well it is built.",
        "Boltzmann gave entropy a microscopic meaning: it is proportional to the logarithm of the number of "
        "microscopic arrangements of atoms and molecules that look the same from outside. Ordered states can be "
        "realised in few ways and disordered ones in astronomically many, which explains why a gas spreads to "
        "fill a box and never gathers spontaneously in one corner.",
        "The same idea links thermodynamics to information. Erasing one bit of memory must release at least a "
        "tiny amount of heat, proportional to the temperature, a limit first stated by Landauer and since "
        "confirmed in experiments with single colloidal particles held in optical traps.",
    ), r"S = k_B \ln \Omega, \qquad \eta \le 1 - \frac{T_c}{T_h}", "katex"),
    Topic("memory-hierarchy", "Caches and the memory hierarchy", "computer_science", (
        "A modern processor can execute several instructions per nanosecond, but fetching a value from main "
        "memory takes around a hundred nanoseconds. Computer architects bridge this gap with a hierarchy of "
        "small, fast caches close to the cores and larger, slower memories further away.",
        "Caches work because programs show locality. Temporal locality means that data used now is likely to be "
        "used again soon, and spatial locality means that neighbouring addresses are likely to be used together. "
        "The hardware therefore keeps recently used data and moves memory in blocks called cache lines, "
        "typically sixty four bytes long.",
        "Software can exploit the hierarchy deliberately. For example, traversing a two-dimensional array row by "
        "row in a language that stores rows contiguously touches each cache line once, whereas traversing it "
        "column by column may miss the cache on every access and run many times slower. Blocked algorithms for "
        "matrix multiplication split the work into tiles that fit in the cache for the same reason.",
        "Multicore processors add the problem of coherence: when one core writes to a cache line, copies held by "
        "other cores must be invalidated. Two threads that update different variables which happen to share a "
        "line will keep stealing it from each other, an effect called false sharing that can ruin the "
        "throughput of a parallel program until the data is padded apart.",
    ), r"T_{\text{avg}} = T_{\text{hit}} + m \cdot T_{\text{miss}}", "mathjax",
        table=(("Level", "Typical size", "Typical latency"), ("Registers", "under 1 KB", "under 1 ns"),
               ("L1 cache", "32-64 KB per core", "about 1 ns"), ("L2 cache", "1-2 MB per core", "3-5 ns"),
               ("L3 cache", "tens of MB shared", "10-20 ns"), ("Main memory (DRAM)", "tens of GB", "80-120 ns"))),
    Topic("stroke-care", "Stroke: recognising it and treating it fast", "medicine", (
        "A stroke occurs when the blood supply to part of the brain is interrupted. In about eight cases out of "
        "ten a clot blocks an artery, an ischaemic stroke; in the rest a vessel ruptures and bleeds into or "
        "around the brain. Brain cells begin to die within minutes, so every minute of delay costs patients "
        "function they may never regain.",
        "Public campaigns teach the FAST test: a drooping face, weakness of one arm and slurred speech mean it is "
        "time to call an ambulance. Other symptoms include sudden loss of vision, severe dizziness and, in "
        "haemorrhage, an abrupt and violent headache.",
        "In hospital, a CT scan distinguishes bleeding from a clot, because the treatments are opposite. "
        "Thrombolytic drugs that dissolve clots improve outcomes if given within four and a half hours of onset, "
        "and mechanical thrombectomy, in which a catheter retrieves the clot from a large artery, benefits "
        "selected patients even later. The same drugs would be disastrous in a haemorrhage.",
        "After the acute phase, rehabilitation with physiotherapists, occupational therapists and speech "
        "therapists helps patients recover as much function as possible. Prevention then targets the risk "
        "factors: blood pressure control, statins, treatment of atrial fibrillation with anticoagulants, and "
        "stopping smoking, which together reduce the risk of a second stroke considerably.",
    ), "", "none",
        table=(("Treatment", "Time window from onset", "Suitable patients"),
               ("Intravenous thrombolysis", "up to 4.5 hours", "ischaemic stroke, no bleeding on CT"),
               ("Mechanical thrombectomy", "up to 24 hours in selected cases", "large artery occlusion"),
               ("Stroke unit care", "from admission", "all stroke patients"))),
    Topic("glaciers-sea-level", "Melting glaciers and rising sea level", "earth_environment", (
        "Global mean sea level rose by roughly twenty centimetres between 1900 and 2020, and the rate has more "
        "than doubled since the early 1990s, when satellite altimetry began to measure the ocean surface from "
        "orbit. Two processes dominate: warming seawater expands, and ice on land melts and flows into the "
        "ocean.",
        "Mountain glaciers from the Alps to the Himalaya have lost mass almost everywhere, and because many "
        "rivers depend on their summer meltwater, their retreat threatens water supplies for agriculture and "
        "cities downstream. The large ice sheets of Greenland and Antarctica hold far more ice, enough to raise "
        "sea level by about sixty five metres if all of it melted.",
        "Greenland loses ice both by surface melting and by glaciers calving icebergs into the sea. In West "
        "Antarctica, however, the main concern is warm ocean water melting the floating ice shelves from below. "
        "The shelves buttress the glaciers behind them, so their thinning allows the ice to flow faster, and "
        "where the bedrock deepens inland the retreat may become self-sustaining.",
        "Rising seas increase coastal flooding long before land is permanently lost, because storm surges start "
        "from a higher base. For example, a flood level that occurred once a century in many ports will be "
        "reached every few years by 2100 under high emission scenarios. Coastal planners therefore combine sea "
        "walls, managed retreat and the restoration of wetlands that absorb wave energy.",
    ), r"\Delta h \approx \frac{\Delta V_{\text{ice}} \, \rho_{\text{ice}}}"
       r"{\rho_{\text{water}} \, A_{\text{ocean}}}", "mathjax"),
    Topic("soil-erosion", "Soil erosion and land use", "earth_environment", (
        "Soil forms slowly, often at a rate of a few centimetres per thousand years, as rock weathers and organic "
        "matter accumulates. On bare or intensively tilled land, however, rain and wind can remove that much in "
        "a few seasons, so erosion on farmland often outpaces soil formation many times over.",
        "Raindrops striking bare ground detach soil particles, and runoff carries them downslope, first as thin "
        "sheets and then in rills and gullies. The loss depends on rainfall intensity, the erodibility of the "
        "soil, slope length and steepness, vegetation cover and conservation practices, the factors combined in "
        "the universal soil loss equation used by agricultural agencies.",
        "Eroded soil does damage twice. The field loses its most fertile topsoil, rich in organic matter and "
        "nutrients, and yields decline; downstream, the sediment clouds rivers, fills reservoirs and carries "
        "phosphorus that feeds algal blooms in lakes and coastal waters.",
        "Conservation measures work by keeping the ground covered and slowing the water. Cover crops protect "
        "the soil between harvests, contour ploughing and terraces break up slopes, and reduced tillage leaves "
        "crop residues on the surface. For example, after the Dust Bowl of the 1930s, shelterbelts of trees "
        "were planted across the American Great Plains to reduce wind erosion.",
    ), r"A = R \cdot K \cdot LS \cdot C \cdot P", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>A</mi><mo>=</mo><mi>R</mi><mo>⋅</mo>'
               '<mi>K</mi><mo>⋅</mo><mi>L</mi><mi>S</mi><mo>⋅</mo><mi>C</mi><mo>⋅</mo><mi>P</mi></math>'),
    Topic("chromatography", "Separating mixtures by chromatography", "chemistry", (
        "Chromatography separates the compounds of a mixture by letting them partition between a stationary "
        "phase and a mobile phase that flows past it. Molecules that interact strongly with the stationary "
        "phase move slowly, while those that prefer the mobile phase are carried along quickly, so the "
        "components of the sample spread out into separate bands.",
        "In thin layer chromatography a drop of the sample is spotted onto a plate coated with silica gel, and a "
        "solvent rises through the layer by capillary action. Polar compounds bind to the polar silica through "
        "hydrogen bonds and travel only a short distance, whereas nonpolar compounds move close to the solvent "
        "front. The retention factor, the distance a spot travels divided by the distance of the solvent front, "
        "helps chemists identify compounds and follow the progress of a reaction.",
        "Column chromatography applies the same principle on a preparative scale. The crude product of an "
        "organic synthesis is loaded at the top of a column packed with silica, and a solvent mixture of "
        "gradually increasing polarity washes the compounds out one after another, so that the desired product "
        "can be collected in pure fractions.",
        "Gas chromatography uses an inert carrier gas as the mobile phase and a thin liquid film inside a long "
        "capillary as the stationary phase, and it separates volatile compounds by boiling point and polarity. "
        "Coupled to a mass spectrometer, it identifies traces of pesticides in food or of drugs in blood, "
        "because every compound has a characteristic retention time and fragmentation pattern.",
    ), r"R_f = \frac{d_{\text{compound}}}{d_{\text{solvent front}}}", "mathjax",
        table=(("Compound", "Polarity", "Rf on silica (hexane : ethyl acetate 4 : 1)"),
               ("Naphthalene", "nonpolar", "0.85"), ("Benzophenone", "moderately polar", "0.45"),
               ("Benzyl alcohol", "polar", "0.20"), ("Benzoic acid", "very polar", "0.05"))),
    Topic("mathematical-induction", "Proof by mathematical induction", "mathematics", (
        "Many statements in mathematics claim that something holds for every natural number. Checking cases one "
        "by one can never finish, so mathematicians use induction: prove the statement for the first number, "
        "and prove that whenever it holds for some number n it also holds for n plus one. Together these two "
        "steps cover every integer, like a row of dominoes in which each one knocks over the next.",
        "A classic example is the formula for the sum of the first n odd numbers, which equals n squared. The "
        "base case is immediate, since the first odd number is one. For the inductive step, assume the sum of "
        "the first n odd numbers is n squared; adding the next odd number, two n plus one, gives n squared plus "
        "two n plus one, which is exactly the square of n plus one.",
        "Strong induction allows the inductive step to use the statement for all smaller numbers, not only for "
        "the previous one. It is the natural tool for proving that every integer greater than one is a product "
        "of primes: either the number is prime, or it splits into two smaller factors, each of which is already "
        "a product of primes by hypothesis.",
        "Induction is equivalent to the well-ordering principle, which states that every nonempty set of natural "
        "numbers has a least element. Structural induction generalises the method to trees, formulas and "
        "programs defined recursively, and it is therefore central to proofs about algorithms and about the "
        "correctness of recursive definitions in logic.",
    ), r"\sum_{k=1}^{n} (2k - 1) = n^2", "katex"),
    Topic("doppler-effect", "The Doppler effect in sound and light", "physics", (
        "The pitch of an ambulance siren drops as the vehicle passes, although the siren itself never changes. "
        "While the source approaches, each new wave crest is emitted a little closer to the listener than the "
        "previous one, so the crests arrive more often and the frequency heard is higher; once the source "
        "recedes, the crests are stretched apart and the pitch falls.",
        "For sound the size of the shift depends on the speeds of both the source and the listener relative to "
        "the air, because sound is a wave in a medium. A source moving at a tenth of the speed of sound raises "
        "the frequency ahead of it by about eleven percent, and at the speed of sound the crests pile up into a "
        "shock wave, which is heard on the ground as a sonic boom.",
        "Light needs no medium, and its Doppler shift depends only on the relative velocity of source and "
        "observer, with a correction from special relativity at high speeds. Light from a receding star is "
        "shifted towards longer, redder wavelengths, and light from an approaching one towards the blue.",
        "Astronomers measure these shifts in the spectral lines of stars and galaxies. Hubble found that distant "
        "galaxies show a redshift roughly proportional to their distance, the first evidence that the universe "
        "is expanding, and the periodic shift of a star's lines reveals the orbital motion caused by an unseen "
        "planet. On Earth, radar guns and Doppler ultrasound use the same principle to measure the speed of cars "
        "and of blood in arteries.",
    ), r"f' = f\,\frac{v + v_o}{v - v_s}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><msup><mi>f</mi><mo>′</mo></msup><mo>=</mo>'
               '<mi>f</mi><mfrac><mrow><mi>v</mi><mo>+</mo><msub><mi>v</mi><mi>o</mi></msub></mrow><mrow>'
               '<mi>v</mi><mo>-</mo><msub><mi>v</mi><mi>s</mi></msub></mrow></mfrac></math>'),
)

GENERAL = (
    Topic("sourdough", "A weekend sourdough loaf", "general", (
        "Start the evening before by feeding your starter so that it is bubbly and active in the morning. Mix "
        "the flour and most of the water and let the dough rest for an hour before adding the starter and salt.",
        "Over the next four hours, stretch and fold the dough every half hour. You will feel it change from "
        "shaggy and sticky to smooth and elastic. Shape it into a tight round, place it in a floured basket and "
        "leave it in the fridge overnight.",
        "Bake it straight from the fridge in a preheated covered pot. Remove the lid after twenty minutes so "
        "the crust can darken, and wait at least an hour before slicing, however tempting the smell.",
        "If your loaf comes out flat and dense, the starter was probably not active enough, because a sluggish "
        "culture cannot produce the gas the dough needs to rise. For example, a starter kept in a cold kitchen "
        "may need two or three feeds at room temperature before it doubles reliably within six hours, which is "
        "the sign that it is ready to bake with.",
    ), "", "none"),
    Topic("community-garden", "Community garden opens new plots", "general", (
        "The community garden on Mill Lane opened twelve new raised beds this spring after volunteers cleared "
        "the old car park behind the library. Residents can apply for a plot for a small yearly fee.",
        "The garden committee says demand has doubled in two years. Several of the new beds are built at table "
        "height so that gardeners who use wheelchairs can work them comfortably.",
        "A seed swap will be held on the first Saturday of every month, and the committee is looking for "
        "volunteers to help run the compost area and the tool shed.",
        "Organisers say the garden has become much more than a place to grow vegetables. For example, the local "
        "primary school now runs weekly lessons in two of the beds, and a group from the day centre meets there "
        "every Tuesday morning, which has brought together neighbours who had never spoken before. However, the "
        "committee warns that the waiting list is already long.",
    ), "", "none"),
    Topic("cycling-route", "A quiet cycling route along the river", "general", (
        "This thirty kilometre loop follows the river towpath out of town and returns through the farm lanes "
        "on the far bank. It is almost entirely flat and suits riders of most abilities.",
        "Start at the old bridge and keep the water on your left. After the lock, the path narrows for a short "
        "stretch; slow down and ring your bell for walkers. The café at the second bridge opens at nine.",
        "The return leg climbs gently for two kilometres before dropping back to the valley. In wet weather the "
        "towpath can be muddy, so wider tyres are a good idea between October and March.",
        "Families with young children may prefer to ride only the first half and return the same way, because the "
        "farm lanes carry occasional tractors and delivery vans. There are, however, benches and a water tap at "
        "the lock, which makes it a good place for a picnic, and the station at the far end means tired riders "
        "can take the train back with their bikes.",
    ), "", "none",
        table=(("Section", "Distance (km)", "Surface"), ("Old bridge to lock", "8", "gravel"),
               ("Lock to second bridge", "7", "tarmac"), ("Farm lanes", "15", "tarmac"))),
    Topic("kettle-review", "Review: the stainless steel kettle we use every day", "general", (
        "We have used this kettle every morning for six months. It boils a full litre in a little under three "
        "minutes, which is about average for its power, and it switches off reliably.",
        "The handle stays cool and the spout pours without dribbling, though the lid catch feels flimsy. The "
        "water window is easy to read from across the kitchen, a small thing that we came to appreciate.",
        "Limescale builds up quickly in our hard water area, so we descale it every few weeks with a little "
        "citric acid. For the price it is a solid choice, if not an exciting one.",
        "We compared it with two pricier models that a friend lent us. The more expensive kettles were quieter "
        "and one had temperature settings for green tea, which is useful if you drink a lot of it. However, "
        "neither boiled noticeably faster, and for most households the extra money buys features rather than "
        "better everyday performance.",
    ), "", "none"),
    Topic("football-report", "Late goal settles the derby", "general", (
        "A header in the final minute gave the home side a one nil win in Saturday's derby, played in front of "
        "a full stadium on a cold and windy afternoon.",
        "The visitors had the better of the first half and hit the post twice, but the home goalkeeper kept "
        "them out with a string of saves. After the break the home side pressed higher and the game opened up.",
        "The winner came from a corner: the captain rose above two defenders and guided the ball into the far "
        "corner. The result lifts the team to third place in the table.",
        "The home manager admitted afterwards that his side had been fortunate in the first half, but he praised "
        "the players for their patience. The visiting coach complained that the winning corner should never have "
        "been given, because replays suggested the ball had come off an attacker. Both teams now face a busy run "
        "of league and cup games before the winter break.",
    ), "", "none"),
    Topic("repotting", "When and how to repot a houseplant", "general", (
        "Most houseplants need a bigger pot every one or two years, when roots start to circle the bottom or "
        "poke out of the drainage holes. Spring is the best time, as the plant is starting to grow again.",
        "Choose a pot only a few centimetres wider than the old one. Water the plant the day before, ease it "
        "out, loosen the outer roots gently and set it at the same depth in fresh compost.",
        "Keep the plant out of direct sun for a week after repotting and water sparingly until new growth "
        "shows that the roots have settled in.",
        "Terracotta pots suit plants that like to dry out between waterings, such as cacti and succulents, "
        "because the clay lets moisture evaporate through the walls. Plastic pots, however, keep the compost damp "
        "for longer, which suits ferns and peace lilies. Whatever the material, a drainage hole is essential, "
        "since standing water around the roots is the most common way houseplants are killed.",
    ), "", "none"),
    Topic("tomato-soup", "Roasted tomato soup for a chilly evening", "general", (
        "Halve a kilo of ripe tomatoes, spread them cut side up on a tray with two red onions cut into wedges "
        "and a whole head of garlic, drizzle everything with olive oil and roast it until the edges blacken a "
        "little, about forty minutes.",
        "Squeeze the soft garlic out of its skins into a large pan, tip in the roasted vegetables with their "
        "juices and add half a litre of vegetable stock. Simmer gently for ten minutes, then blend until smooth. "
        "If you like a thinner soup, loosen it with a splash of water or milk.",
        "Season generously with salt, pepper and a pinch of sugar if the tomatoes were not very sweet. A few "
        "torn basil leaves and a spoonful of crème fraîche on top make it look special, and a grilled cheese "
        "sandwich on the side turns it into a proper supper.",
        "The soup keeps for three days in the fridge and freezes well in portions. Late summer tomatoes give the "
        "best flavour, but in winter a tin of good plum tomatoes roasted with the onions works surprisingly well.",
        "Roasting is worth the extra time because it concentrates the flavour: water evaporates from the tomatoes "
        "and their natural sugars caramelise at the edges. For example, the same recipe made with raw tomatoes "
        "simmered in the pan tastes noticeably thinner and sharper, which many cooks try to correct with more "
        "sugar or a stock cube.",
    ), "", "none"),
    Topic("lisbon-weekend", "Three days in Lisbon on foot and by tram", "general", (
        "Lisbon is a city of hills, so pack comfortable shoes and plan your days around one neighbourhood at a "
        "time. We stayed near the Baixa, whose flat grid of streets makes a good base, and walked almost "
        "everywhere.",
        "On the first morning we rode the old yellow tram up to the castle, arriving before the tour groups, and "
        "spent the afternoon getting lost in the alleys of Alfama. In the evening a small family restaurant "
        "served grilled sardines and a jug of house wine for less than we would pay for a sandwich at home.",
        "Day two took us by train along the river to Belém for the monastery, the tower and, of course, the "
        "custard tarts at the famous bakery, where the queue moves faster than it looks. We walked back through "
        "the riverside gardens as the sun went down over the bridge.",
        "On our last day we took the ferry across to Cacilhas for lunch and a view of the city skyline. Buy a "
        "rechargeable transport card at any metro station: it covers trams, buses, ferries and trains and saves "
        "a lot of fumbling for change.",
    ), "", "none",
        table=(("Day", "Area", "Highlights"), ("Friday", "Alfama", "castle, tram 28, fado bar"),
               ("Saturday", "Belém", "monastery, tower, pastry shop"),
               ("Sunday", "Cacilhas", "ferry, seafood lunch"))),
    Topic("marathon-report", "Record field braves the rain at the city marathon", "general", (
        "More than eight thousand runners lined up in steady drizzle on Sunday morning for the twelfth city "
        "marathon, the largest field in the event's history. Organisers said the rain kept spectator numbers "
        "down at the start, but crowds grew along the waterfront as the weather cleared.",
        "The men's race was decided in the final three kilometres, when last year's runner-up broke away from a "
        "group of four on the climb past the cathedral and crossed the line in two hours fourteen minutes. The "
        "women's winner, a local physiotherapist running only her second marathon, led from halfway and finished "
        "almost four minutes clear.",
        "Volunteers handed out more than sixty thousand cups of water and the first aid teams treated a handful "
        "of runners for cramp and mild hypothermia, none of them serious. Several roads in the centre remained "
        "closed until mid-afternoon while the barriers were removed.",
        "The race raised an estimated two hundred thousand pounds for local charities. Entries for next year's "
        "event open in January, and the organisers have promised more toilets at the start after a long queue "
        "this year.",
        "Race doctors said the cool conditions probably helped, because heat is the main cause of collapses in "
        "long races. However, they reminded runners that many of the injuries treated at the finish could have "
        "been avoided by a slower start, since the first ten kilometres often feel deceptively easy after weeks "
        "of tapering.",
    ), "", "none"),
    Topic("film-review", "Review: a quiet drama about a lighthouse keeper", "general", (
        "Very little happens in this slow, beautiful film, and that is its strength. An ageing lighthouse keeper "
        "spends his last winter on a remote island before the light is automated, and the arrival of a young "
        "engineer sent to install the new equipment unsettles his carefully kept routines.",
        "The lead actor gives a performance of small gestures: the way he folds a map, pauses at a door or "
        "listens to the weather forecast tells us more than any dialogue could. His younger co-star is good too, "
        "though her character's backstory, revealed in an awkward flashback, feels borrowed from another film.",
        "The cinematography is the real star. Grey seas, sudden shafts of light and the long night scenes in the "
        "lamp room are shot with patience, and the sparse piano score never tells us what to feel.",
        "At just over two hours it is perhaps twenty minutes too long, and the ending will divide audiences. "
        "Still, if you are willing to slow down, it is one of the most rewarding films in cinemas this season. "
        "Four stars out of five.",
    ), "", "none"),
    Topic("book-fair", "Library book fair returns this Saturday", "general", (
        "The annual book fair at the central library returns this Saturday from ten until four, with more than "
        "five thousand donated books for sale, from children's picture books to cookery, local history and "
        "crime fiction. Most paperbacks cost one pound and hardbacks two.",
        "The Friends of the Library, who organise the fair, say all proceeds will go towards the new reading "
        "garden behind the building and towards extending weekend opening hours. Last year the fair raised "
        "almost four thousand pounds.",
        "There will be a storytelling corner for young children at eleven and again at two, and a local author "
        "will sign copies of her new novel about the town's old harbour. Tea, coffee and homemade cakes will be "
        "served in the reading room.",
        "Donations of books in good condition can still be dropped off at the front desk until Thursday evening. "
        "The organisers ask people not to bring encyclopaedias, old magazines or textbooks, which they cannot "
        "sell. Parking is free in the council car park on Market Street all day.",
        "Volunteers explained that the fair relies on careful sorting in the weeks before the sale, because a box "
        "of mixed donations sells far more slowly than a well-arranged table. For example, children's books are "
        "sorted by age, and novels by author, which means regular visitors can quickly find the titles they are "
        "looking for.",
    ), "", "none"),
    Topic("first-sweater", "Knitting your first sweater without fear", "general", (
        "Many knitters put off their first sweater for years, convinced it is a huge leap from scarves and hats. "
        "It is not, provided you pick the right pattern: a top-down raglan worked in the round has no seams to "
        "sew and lets you try it on as you go.",
        "Choose a smooth, light-coloured wool in a worsted weight, which shows your stitches clearly and knits up "
        "quickly. Always knit a gauge swatch of at least fifteen centimetres, wash it and let it dry flat before "
        "measuring. Skipping this step is the single most common reason a finished sweater does not fit.",
        "Once the yoke is deep enough, put the sleeve stitches on waste yarn and carry on with the body. Try the "
        "garment on at this point: it is easy to add or remove a few rounds now and much harder later. Sleeves "
        "come last, picked up from the waste yarn and worked down to the cuffs.",
        "Finish by weaving in the ends and soaking the sweater in lukewarm water with a little wool wash. Lay it "
        "flat on a towel, pat it into shape and leave it to dry. The first wear is the best reward for all those "
        "evenings on the sofa.",
        "Wool is the forgiving choice for a first sweater, because its natural elasticity hides small differences "
        "in tension between rounds. Cotton, for example, shows every uneven stitch and tends to stretch with "
        "wear, which can leave a sweater longer and baggier after a few washes. For this reason many teachers "
        "suggest saving cotton for a second project.",
    ), "", "none"),
    Topic("bus-route-change", "Council confirms changes to town bus routes", "general", (
        "The council has confirmed that bus routes 4 and 7 will be merged from the first of next month, after a "
        "consultation that drew more than nine hundred responses from residents, schools and businesses.",
        "The new route 47 will run every fifteen minutes during the day between the railway station and the "
        "hospital, passing through the town centre and the Hillside estate. Evening services will run every "
        "half hour until eleven, an hour later than at present.",
        "Some residents of Orchard Road, which will no longer be served directly, have criticised the change. "
        "The council says the nearest stop will be less than four hundred metres away and that a dial-a-ride "
        "minibus will be available for people with limited mobility.",
        "Fares are unchanged, and weekly and monthly tickets bought before the change will remain valid. "
        "Printed timetables will be available at the library and the station from next week, and the operator's "
        "app will show the new times from the day the changes take effect.",
    ), "", "none",
        table=(("Time of day", "Old routes 4 and 7", "New route 47"), ("Weekday daytime", "every 30 minutes",
                                                                      "every 15 minutes"),
               ("Evenings", "until 22:00", "until 23:00"), ("Sundays", "every hour", "every 30 minutes"))),
    Topic("board-game-review", "Board game review: a cooperative train adventure", "general", (
        "In this cooperative game, two to five players work together to run a mountain railway through a harsh "
        "winter. Each round you lay track, load wagons with coal and passengers, and clear snowdrifts before a "
        "storm deck runs out and the line is cut off.",
        "The rules take about twenty minutes to explain and the box suggests an hour per game, which matched our "
        "experience once everyone knew what they were doing. The components are lovely: chunky wooden wagons, a "
        "sturdy folding board and cards with charming illustrations of stations and their staff.",
        "Cooperative games sometimes suffer from one confident player telling everyone else what to do. This one "
        "limits that by keeping each player's hand hidden and allowing only vague hints, which made our table "
        "chattier and more fun.",
        "The difficulty can be raised with extra storm cards, and we still lost about half our games on the "
        "standard setting. Younger players may find the planning hard before the age of ten, but for families "
        "and friends who prefer working together to competing, it is an easy recommendation.",
    ), "", "none"),
    Topic("cricket-club", "Village cricket club clinches the league title", "general", (
        "Little Ashford Cricket Club won the county league for the first time in its history on Saturday, "
        "beating their nearest rivals by six wickets in a tense final match of the season on the village green.",
        "Chasing a target of one hundred and eighty seven, the home team slipped to forty for three before the "
        "captain and the club's sixteen year old wicketkeeper put on a partnership of ninety. The winning runs "
        "came with four overs to spare, to loud cheers from a crowd of several hundred.",
        "The club's coach praised the players for their commitment after a difficult start to the season, when "
        "rain washed out three of the first five games and the team lost two close matches. Since July they "
        "have not been beaten.",
        "The celebrations continued late into the evening at the pavilion, where the league trophy was "
        "presented by the county president. The club is now raising money to replace its ageing roller and is "
        "looking for new junior members for the winter nets sessions.",
    ), "", "none"),
    Topic("council-election", "Turnout rises in town council election", "general", (
        "Voters in the town elected a new council on Thursday, and turnout rose to forty one percent, up from "
        "thirty four percent at the last election four years ago. Counting at the leisure centre continued "
        "until the early hours of Friday morning.",
        "The independent group kept control of the council with fourteen of the twenty four seats, although it "
        "lost two wards to the Green Party, which campaigned against plans to build on the water meadows. "
        "Labour held its four seats, and the Liberal Democrats gained one in the Castle ward.",
        "The re-elected leader of the council said her group would prioritise repairs to the swimming pool and "
        "a review of parking charges in the town centre. The Green Party's new councillors said they would push "
        "for a vote on the housing plan at the first full meeting in June.",
        "Several candidates thanked the volunteers who staffed polling stations in schools and church halls. "
        "Full results, ward by ward, are published on the council's website and will be displayed in the "
        "library window for the rest of the month.",
    ), "", "none",
        table=(("Group", "Seats before", "Seats after"), ("Independents", "16", "14"), ("Labour", "4", "4"),
               ("Green Party", "1", "3"), ("Liberal Democrats", "2", "3"), ("Conservatives", "1", "0"))),
    Topic("museum-exhibition", "Exhibition review: a century of seaside posters", "general", (
        "The town museum's new exhibition gathers more than ninety railway and seaside posters from the 1900s to "
        "the 1990s, and it is the most enjoyable show the museum has staged in years. Most of the posters come "
        "from a private collection that has never been displayed in public before.",
        "The rooms are arranged by decade, which works well because the changes in style are easy to follow. "
        "The early posters are crowded with text and tiny figures, whereas those from the 1930s use bold blocks "
        "of colour and a single striking image, such as a diver frozen in mid-air above a blue bay.",
        "The curators have also included letters between the railway companies and the artists, and these are "
        "often the most revealing exhibits. For example, one letter asks an artist to make the sea look warmer "
        "and the beach less crowded, which explains why so many of the posters look more inviting than the "
        "resorts ever were.",
        "The final room, devoted to the decline of the seaside holiday in the age of cheap flights, feels a little "
        "rushed. However, the exhibition as a whole is a delight, and the shop's reproductions of the best "
        "posters will be hard to resist. Entry is free, and the show runs until the end of September.",
    ), "", "none"),
    Topic("allotment-diary", "An allotment diary: what a wet summer taught me", "general", (
        "This was my third summer on the allotment, and by far the wettest. The rain arrived in the middle of "
        "June and barely stopped until August, which meant that half of my plans had to change and the other "
        "half simply failed.",
        "The potatoes were the first casualty. Blight spread quickly along the row in the damp, warm weather, and "
        "I had to cut the foliage down early to save the crop. The harvest was small; however, the potatoes that "
        "did come up stored well because I let them dry on the shed floor for a week before bagging them.",
        "The beans, on the other hand, loved the conditions. I picked runner beans every other day for two "
        "months and gave bags of them to the neighbouring plot holders, who repaid me with courgettes, of which "
        "I already had far too many.",
        "The main lesson is to spread the risk. Next year I will grow fewer potatoes and choose a variety that "
        "resists blight, and I will build a simple cover for the tomatoes, since every plant left in the open "
        "rotted before its fruit could ripen. Gardening, I am learning, rewards patience more than planning.",
    ), "", "none"),
)

GERMAN = (
    Topic("schroedinger", "Die Schrödinger-Gleichung", "physics", (
        "Die Schrödinger-Gleichung beschreibt, wie sich der Zustand eines quantenmechanischen Systems mit der "
        "Zeit entwickelt. Ihre Lösungen, die Wellenfunktionen, geben die Wahrscheinlichkeit an, ein Teilchen an "
        "einem bestimmten Ort zu finden.",
        "Für ein Elektron im Wasserstoffatom lässt sich die Gleichung exakt lösen. Die erlaubten Energien "
        "erklären die Spektrallinien, die man schon lange vor der Quantenmechanik gemessen hatte.",
        "In größeren Molekülen ist eine exakte Lösung nicht mehr möglich. Dort helfen Näherungsverfahren und "
        "Computer, mit denen Chemiker heute Bindungslängen und Reaktionsenergien berechnen.",
    ), r"i\hbar \frac{\partial \psi}{\partial t} = \hat{H} \psi", "mathjax"),
    Topic("schwarzwald", "Eine Wanderung im Schwarzwald", "general", (
        "Die Rundwanderung beginnt am Parkplatz beim Sägewerk und führt zunächst durch dichten Fichtenwald "
        "bergauf. Nach einer Stunde öffnet sich der Blick über das Tal bis zu den Vogesen.",
        "Auf dem Gipfel lädt eine kleine Hütte zur Rast ein. Am Wochenende gibt es dort Kuchen und heiße "
        "Getränke, unter der Woche sollte man sich selbst versorgen.",
        "Der Abstieg über den Wasserfallweg ist steil und bei Nässe rutschig. Festes Schuhwerk ist deshalb "
        "unbedingt zu empfehlen, vor allem im Frühjahr.",
    ), "", "none"),
)

FRENCH = (
    Topic("gaz-parfaits", "La loi des gaz parfaits", "chemistry", (
        "La loi des gaz parfaits relie la pression, le volume et la température d'un gaz à la quantité de "
        "matière qu'il contient. Elle suppose que les molécules n'interagissent pas entre elles.",
        "Cette approximation est excellente pour l'air dans les conditions ordinaires, mais elle échoue quand "
        "le gaz est fortement comprimé ou refroidi près de sa température de liquéfaction.",
        "En travaux pratiques, on l'utilise pour déterminer la quantité de dioxygène produite par une réaction "
        "à partir du volume de gaz recueilli dans une éprouvette retournée.",
    ), r"p V = n R T", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>p</mi><mi>V</mi><mo>=</mo><mi>n</mi>'
               '<mi>R</mi><mi>T</mi></math>'),
    Topic("tarte-aux-pommes", "La tarte aux pommes de grand-mère", "general", (
        "Étalez la pâte brisée dans un moule beurré et piquez le fond avec une fourchette. Épluchez quatre "
        "pommes, coupez-les en fines lamelles et disposez-les en rosace.",
        "Saupoudrez de sucre vanillé et parsemez de petits morceaux de beurre. Enfournez pendant trente-cinq "
        "minutes à cent quatre-vingts degrés, jusqu'à ce que les pommes soient dorées.",
        "Servez la tarte tiède, accompagnée d'une boule de glace à la vanille ou d'un peu de crème fraîche.",
    ), "", "none"),
)

CONTAINED_INTROS = (
    "Saved for our study group, because it beats our notes:",
    "Quick note for my own revision:",
)

SPAM_WORDS = ("cheap", "best", "price", "buy", "now", "discount", "watches", "replica", "free", "shipping",
              "casino", "bonus", "win", "online", "deal", "offer", "limited", "click", "here", "top")

SITES = (
    ("physics-notes.example.org", "Open Physics Notes", ("Home", "Courses", "Lectures", "Problems", "Forum",
                                                         "About", "Contact", "Donate")),
    ("sciencebites.example.com", "ScienceBites", ("Latest", "Physics", "Chemistry", "Biology", "Maths",
                                                  "Newsletter", "Shop", "Log in")),
    ("learnwiki.example.net", "LearnWiki", ("Main page", "Random article", "Recent changes", "Help",
                                            "Community portal", "Upload file")),
    ("townnews.example.co.uk", "Town News", ("News", "Sport", "What's on", "Property", "Jobs", "Obituaries",
                                             "Subscribe")),
)
