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
    ), r"N(t) = N_0 e^{-\lambda t}", "mathml",
        mathml='<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>N</mi><mo>(</mo><mi>t</mi><mo>)</mo>'
               '<mo>=</mo><msub><mi>N</mi><mn>0</mn></msub><msup><mi>e</mi><mrow><mo>-</mo><mi>λ</mi>'
               '<mi>t</mi></mrow></msup></math>',
        table=(("Isotope", "Half-life", "Use"), ("Carbon-14", "5730 years", "radiocarbon dating"),
               ("Iodine-131", "8.02 days", "thyroid treatment"), ("Cobalt-60", "5.27 years", "radiotherapy"),
               ("Uranium-238", "4.47 billion years", "dating rocks"))),
    Topic("merge-sort", "Why merge sort runs in n log n time", "computer science", (
        "Merge sort splits a list in two halves, sorts each half recursively and then merges the two sorted "
        "halves in a single pass. The merge step touches every element once, so each level of the recursion "
        "costs time proportional to the length of the list.",
        "Since the list is halved at every level, there are about log n levels before the pieces hold a single "
        "element. Multiplying the work per level by the number of levels gives the familiar bound, which holds "
        "in the best, average and worst case alike.",
        "No comparison sort can do better in the worst case. A decision tree that distinguishes all orderings "
        "of n items needs at least log of n factorial comparisons on some input, and that quantity grows as "
        "n log n.",
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
    ), r"\frac{\partial u}{\partial t} = \alpha \nabla^2 u", "katex"),
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
    ), "", "none"),
    Topic("community-garden", "Community garden opens new plots", "general", (
        "The community garden on Mill Lane opened twelve new raised beds this spring after volunteers cleared "
        "the old car park behind the library. Residents can apply for a plot for a small yearly fee.",
        "The garden committee says demand has doubled in two years. Several of the new beds are built at table "
        "height so that gardeners who use wheelchairs can work them comfortably.",
        "A seed swap will be held on the first Saturday of every month, and the committee is looking for "
        "volunteers to help run the compost area and the tool shed.",
    ), "", "none"),
    Topic("cycling-route", "A quiet cycling route along the river", "general", (
        "This thirty kilometre loop follows the river towpath out of town and returns through the farm lanes "
        "on the far bank. It is almost entirely flat and suits riders of most abilities.",
        "Start at the old bridge and keep the water on your left. After the lock, the path narrows for a short "
        "stretch; slow down and ring your bell for walkers. The café at the second bridge opens at nine.",
        "The return leg climbs gently for two kilometres before dropping back to the valley. In wet weather the "
        "towpath can be muddy, so wider tyres are a good idea between October and March.",
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
    ), "", "none"),
    Topic("football-report", "Late goal settles the derby", "general", (
        "A header in the final minute gave the home side a one nil win in Saturday's derby, played in front of "
        "a full stadium on a cold and windy afternoon.",
        "The visitors had the better of the first half and hit the post twice, but the home goalkeeper kept "
        "them out with a string of saves. After the break the home side pressed higher and the game opened up.",
        "The winner came from a corner: the captain rose above two defenders and guided the ball into the far "
        "corner. The result lifts the team to third place in the table.",
    ), "", "none"),
    Topic("repotting", "When and how to repot a houseplant", "general", (
        "Most houseplants need a bigger pot every one or two years, when roots start to circle the bottom or "
        "poke out of the drainage holes. Spring is the best time, as the plant is starting to grow again.",
        "Choose a pot only a few centimetres wider than the old one. Water the plant the day before, ease it "
        "out, loosen the outer roots gently and set it at the same depth in fresh compost.",
        "Keep the plant out of direct sun for a week after repotting and water sparingly until new growth "
        "shows that the roots have settled in.",
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
