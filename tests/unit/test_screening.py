"""The crisis screener: examples that must never regress, and the labelled evaluation set."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from bot.core.screening import Level, Screener, Sensitivity, default_screener, load_lexicons
from bot.core.screening_model import screening_figures

EVAL_SET = Path(__file__).parents[1] / "data" / "screening_eval.jsonl"


@functools.cache
def lexicon_alone() -> Screener:
    """The rule tests below are about the lexicon's rules; the learned stage behind it has its
    own tests (test_screening_model.py)."""
    return Screener(load_lexicons())


# Targets from the safety issue; the test keeps the measured figures from getting worse.
URGENT_RECALL_MIN = 0.97
ANY_RECALL_MIN = 0.95
ORDINARY_PAGING_MAX = 0.03


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I want to just die", "urgent"),
        ("i want to dieeee", "urgent"),
        ("kms", "urgent"),
        ("thinking about unaliving myself", "urgent"),
        ("gonna end it all tonight", "urgent"),
        ("k1ll mys3lf", "urgent"),
        ("I'm not okay, I want to die", "urgent"),
        ("k\u0456ll myself", "urgent"),  # Cyrillic i
        ("sui\u200bcidal tonight, I'm suicidal", "urgent"),  # zero-width space
        ("I have the pills saved up", "urgent"),
        ("he said he would kill me", "urgent"),
        ("I took the whole bottle", "urgent"),
        ("me quiero morir", "urgent"),
        ("voy a suicidarme esta noche", "urgent"),
        ("I wish I could just disappear", "concern"),
        ("everyone would be better off without me", "concern"),
        ("I used to self-harm, two years clean", "concern"),
        ("my friend said she wants to die", "concern"),
        ("I really want to cut again", "concern"),
        ("ojalá no despertar", "concern"),
        ("this homework is killing me", "none"),
        ("I'd die for a coffee", "none"),
        ("dying to see you all on Tuesday", "none"),
        ("killed it at the interview!", "none"),
        ("new meds are making me sleepy", "none"),
        ("missing my mum today, it's her birthday", "none"),
        ("este trabajo me está matando", "none"),
        ("me muero de hambre", "none"),
        ("", "none"),
    ],
)
def test_known_examples(text: str, level: str) -> None:
    assert default_screener().screen(text, "en").level.label == level


def test_matches_say_what_and_why() -> None:
    result = default_screener().screen("my friend said she wants to die", "en")
    assert result.categories == ["intent"]
    assert result.matches[0].lowered
    assert result.as_dict()["level"] == "concern"


def test_organisations_can_add_their_own_terms(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text(
        'language = "en"\n[[rule]]\ncategory = "local_slang"\nlevel = "urgent"\n'
        'patterns = ["catch the last train home forever"]\n',
        encoding="utf-8",
    )
    screener = Screener(load_lexicons(extra=[extra]))
    assert screener.screen("gonna catch the last train home forever", "en").level is Level.URGENT
    assert default_screener().screen("catch the last train home forever", "en").level is Level.NONE


def _evaluate() -> dict[str, float]:
    rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
    screener = default_screener()
    results = [(r["label"], screener.screen(r["text"], r["lang"]).level.label) for r in rows]
    return {**screening_figures(results), "size": len(rows)}


@pytest.mark.skipif(not EVAL_SET.exists(), reason="evaluation set not written yet")
def test_evaluation_set_meets_the_targets() -> None:
    figures = _evaluate()
    assert figures["size"] >= 400
    assert figures["urgent_recall"] >= URGENT_RECALL_MIN, figures
    assert figures["crisis_recall"] >= ANY_RECALL_MIN, figures
    assert figures["ordinary_paging"] <= ORDINARY_PAGING_MAX, figures


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("K1LL mys3lf!!! 30 days, dieeee", ["kill", "myselfi", "##", "days", "die"]),
        ("¿Qué? café ÑOÑO", ["que", "cafe", "nono"]),
        ("$uicide 4ever 2day @ home ||", ["suicide", "aever", "day", "home"]),
        ("sui\u200bcidal k\u0456ll", ["suicidal", "kill"]),
        ("I’m can't", ["im", "cant"]),
        ("a2b 26 x9y", ["ab", "##", "xy"]),
        ("took 5 at 11:40pm, 20mg", ["took", "#", "at", "##", "##", "pm", "##", "mg"]),
        ("", []),
    ],
)
def test_normalising(text: str, words: list[str]) -> None:
    from bot.core.screening import normalise_words

    assert normalise_words(text) == words


def test_fast_searches_answer_as_the_lexicon_patterns_do() -> None:
    """Screening searches with word look-ups and reshaped patterns (for speed); they must find
    exactly what the patterns compiled from the lexicon find."""
    from bot.core.screening import clauses, normalise_words

    texts = [
        "killing it killing it, I want to die",
        "kind of sort of want to die",
        "this homework is killing me this homework is killing me and i want to kill myself",
        "my friend said she has the pills saved up",
        "tengo pastillas guardadas, me quiero morir y mi amiga dijo que solia",
        "me muero de risa me muero de risa",
    ]
    if EVAL_SET.exists():
        rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
        texts += [row["text"] for row in rows]
    checked = 0
    for lexicon in default_screener().lexicons.values():
        for text in texts:
            for clause in clauses(text):
                words = normalise_words(clause)
                kept = " ".join(words) + " "
                for rule in lexicon.rules:
                    slow = rule.regex.search(kept)
                    fast = rule.phrases.search(words, kept)
                    assert (slow and slow.group(0).strip()) == (fast and fast.group(0).strip())
                if lexicon.idioms is not None:
                    slow_kept = lexicon.idioms.sub(" _ ", kept)
                    assert lexicon.idiom_phrases.sub(" _ ", kept) == slow_kept
                    assert (lexicon.idiom_phrases.search(words, kept) is None) == (
                        slow_kept == kept
                    )
                if lexicon.lowering is not None:
                    found = lexicon.lowering_phrases.search(words, kept) is not None
                    assert found == bool(lexicon.lowering.search(kept))
                checked += 1
    assert checked >= len(texts)


def test_no_rule_that_matches_is_ruled_out_by_its_words() -> None:
    """A clause is searched only with the rules its words allow (`Lexicon.candidate_rules`, an
    index by each phrase's two rarest parts): every rule whose pattern matches must be one."""
    from bot.core.screening import clauses, normalise_words

    texts = [
        "i have the pills saved up and tonight is the night",
        "took all my pills, can't stay awake",
        "i'm going to take my own life tonight",
        "tengo las pastillas guardadas y esta noche me voy a matar",
        "he has a knife and says he will hurt me",
    ]
    if EVAL_SET.exists():
        rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
        texts += [row["text"] for row in rows]
    matched = 0
    for lexicon in default_screener().lexicons.values():
        for text in texts:
            for clause in clauses(text):
                words = normalise_words(clause)
                kept = " ".join(w for w in words if w not in lexicon.fillers) + " "
                allowed = lexicon.candidate_rules(words)
                for rule in lexicon.rules:
                    if rule.regex.search(kept):
                        assert rule in allowed, (lexicon.language, rule.category)
                        matched += 1
    assert matched >= 50  # (the check saw many rules match)


@pytest.mark.parametrize(
    "phrase",
    ["want to just die", "(want|) to die", "((a|b)|c) die", "want to (die", "kind of want to die"],
)
def test_phrases_that_could_never_match_are_refused(tmp_path: Path, phrase: str) -> None:
    from bot.core.screening import LexiconError

    extra = tmp_path / "ours.toml"
    extra.write_text(
        'language = "en"\n[[rule]]\ncategory = "x"\nlevel = "urgent"\n'
        f"patterns = [{json.dumps(phrase)}]\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match="phrase"):
        load_lexicons(extra=[extra])


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("took 30 paracetamol about an hour ago", "urgent"),
        ("swallowed 12 zopiclone", "urgent"),
        ("downed 2 boxes of ibuprofen", "urgent"),
        ("counted 48 tablets, it should be enough", "urgent"),
        ("at 11:40 i'm going to do it", "urgent"),
        ("in 20 minutes it'll be over", "urgent"),
        ("me tomé 30 pastillas", "urgent"),
        ("ive saved up 3 months of my meds, taking them all at midnight", "urgent"),
        ("took 2 paracetamol for my headache, feeling better", "none"),
        ("my doctor upped me to 20mg sertraline", "none"),
        ("need to pick up my prescription today, 28 tablets", "none"),
        ("see you all at 7 tonight!", "none"),
        ("my friend told me she took 20 pills last year", "concern"),
    ],
)
def test_numbers_are_kept(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("i used to have the noose tied in my room", "concern"),
        ("when i was 16 i tried to kill myself", "concern"),
        ("my friend said she has the pills saved up", "concern"),
        # the past / other-person phrase is far away, or the writer is the subject again
        ("i used to love this group, you were all kind to me and tonight noose is tied", "urgent"),
        ("my brother said i am selfish and i have been saving pills for weeks", "urgent"),
    ],
)  # fmt: skip
def test_lowering_needs_the_past_or_other_person_close_to_the_match(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # second stage: words from each list of a [[combination]] (bot/locales/lexicon/*.toml)
        ("i have enough tablets saved to never wake up", "urgent"),
        ("i'm by the tracks, forgive me", "urgent"),
        ("cut deep and its pouring blood", "urgent"),
        ("sorry everyone. i love you all. goodbye", "urgent"),
        ("adiós a todos, perdónenme", "urgent"),
        ("I'm going to the bridge club tonight, wish me luck", "none"),
        ("going to the bridge tonight to watch the fireworks with my family", "none"),
        ("sorry i have to leave early, love you all, bye!", "none"),
        ("took all my meds today like the doctor said, ready for bed", "none"),
        ("I've got 28 tablets to last me the month", "none"),
        ("my dog cut his paw and was bleeding all over the kitchen", "none"),
        ("hasta luego a todos, los quiero, nos vemos el martes", "none"),
        ("when i was 15 i took 40 pills", "concern"),
        # indirect and shorthand phrasings
        ("my sister can have my things, i won't need them", "urgent"),
        ("you won't need to worry about me after tonight", "urgent"),
        ("the rope is up in the garage", "urgent"),
        ("gonna sewerslide tonight", "urgent"),
        ("he's outside my door with a knife", "urgent"),
        ("he took something and won't wake up", "urgent"),
    ],
)
def test_combinations_and_indirect_phrasings(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


def test_repeated_letters_collapse_only_from_three() -> None:
    from bot.core.screening import normalise_words

    assert normalise_words("dieeee sooo noose off too") == ["die", "so", "noose", "off", "too"]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # structural [[combination]] tables: parts that must co-occur, not fixed phrases
        ("i took all of my lithium", "urgent"),  # ingestion + amount + medicine
        ("my brother took a bunch of xanax and is slurring", "urgent"),
        ("i think my son drank the bleach under the sink", "urgent"),  # poison
        ("my roommate is on the floor and not responding", "urgent"),  # down + sign
        ("i've got a crushing pain in my chest and my arm is numb", "urgent"),
        ("grandad's face has dropped on one side and he can't speak properly", "urgent"),
        ("my husband's lips have gone grey and he is gasping", "urgent"),
        ("i cant keep myself safe tonight", "urgent"),
        ("by morning i'll be at peace", "urgent"),
        ("want to stop living. today.", "urgent"),  # act + time, across clauses
        ("ive written letters for my kids. tonight i go", "urgent"),
        ("this is my goodbye. please don't blame yourselves", "urgent"),
        ("i'm on the balcony of my 9th floor flat and i want to let go", "urgent"),
        ("i've got a bottle of paracetamol in my hand", "urgent"),  # means in hand
        ("the belt is on the door handle", "urgent"),  # ligature point
        ("i have enough of my antidepressants stored up to do it", "urgent"),
        ("i just need to wait till everyone leaves the house then i'll do it", "urgent"),
        ("i punched the glass and my hand is pouring blood", "urgent"),  # injury + severity
        ("my wrist is gushing", "urgent"),
        ("dad is drunk and swinging at mum right now", "urgent"),  # person + violence + victim
        ("i'm hiding in the wardrobe, he's looking for me", "urgent"),
        ("my ex is parked outside again and he texted he's coming in", "urgent"),
        ("mi padrastro le está pegando a mi mamá", "urgent"),
        ("mi papá se cayó y no responde", "urgent"),
        ("mi hijo se tomó lejía", "urgent"),
        ("estoy parada junto a las vías esperando el tren", "urgent"),
        ("me corté más hondo que nunca y no se cierra", "urgent"),
        ("el viernes lo hago, ya tengo todo preparado", "urgent"),
        ("would anyone even notice if i was gone", "concern"),
        ("nothing i do matters", "concern"),
        ("i scratched my arms raw yesterday", "concern"),
        ("me da igual vivir o morir", "concern"),
        ("soy un estorbo para todos", "concern"),
        ("mi amigo se corta los brazos", "concern"),
        # and what they must leave alone
        ("my phone fell on the floor and isn't responding lol", "none"),
        ("my chest hurts from coughing, arm is sore from the flu jab", "none"),
        ("i have my meds lined up in the organiser for the week", "none"),
        ("she's beating me at chess again", "none"),
        ("he's been hitting me with dad jokes all day", "none"),
        ("i wrote letters to my penpals today", "none"),
        ("the bridge club meets on tuesdays, anyone want to come", "none"),
        ("i took all my meds on time this week", "none"),
        ("my phone is about to die, talk later", "none"),
        ("i'm hiding from my kids in the bathroom to eat chocolate lol", "none"),
        ("mañana lo hago, la tarea de mate", "none"),
        ("mi teléfono se cayó al suelo y no responde", "none"),
    ],
)
def test_structural_combinations(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


def test_combinations_are_looked_up_by_their_rarest_words() -> None:
    """A combination is only searched when a message holds a word of its rarest group."""
    for lexicon in default_screener().lexicons.values():
        for place, combination in enumerate(lexicon.combinations):
            assert combination.needs
            assert all(place in lexicon.combination_index[w] for w in combination.needs[0])
            assert not combination.possible({"hello", "there"})


# ----------------------------------------------------------------------------- en-/es-2026.11-5
@pytest.mark.parametrize(
    ("text", "level"),
    [
        # about someone else: lowered, unless it is happening now; a medical emergency next to
        # the writer is never lowered
        ("my friend said she wants to die", "concern"),
        ("my friend said she's going to kill herself tonight", "urgent"),
        ("my friend took something and won't wake up", "urgent"),
        ("my son had a seizure and he's still not waking up", "urgent"),
        # about the past: lowered
        ("when I was 15 I took 40 pills", "concern"),
        ("when I was 15 I took all my mum's pills", "concern"),
        ("cuando tenía 15 me tomé un montón de pastillas", "concern"),
        # a joke, a game, a dream: lowered to concern, never to none; "not joking" and a time
        # now undo it; negation never lowers a first-person crisis
        ("i want to die lol", "concern"),
        ("i want to die lol, not joking", "urgent"),
        ("I'm not okay, I want to die", "urgent"),
        ("I'd never do it but I want to die", "urgent"),
        ("i'm not going to do anything, i want to kill myself tonight", "urgent"),
        ("my dog locked me in the bathroom haha", "none"),
        ("he locked me in the bathroom haha", "concern"),
        # indirect urgent families
        ("by the time you read this i'll be gone", "urgent"),
        ("you won't hear from me again", "urgent"),
        ("sorted out who gets my stuff. it's done. goodbye", "urgent"),
        ("i'm on the roof. it's really high. i'm ready", "urgent"),
        ("i'm bleeding through the bandage and it won't stop", "urgent"),
        ("i can't feel my legs after what i took", "urgent"),
        ("sitting in the car in the garage with the engine running", "urgent"),
        ("i'm not going to make it through tonight", "urgent"),
        ("i swallowed a pack of paracetamol", "urgent"),
        ("me he cortado las venas", "urgent"),
        ("las pastillas ya me están haciendo efecto", "urgent"),
        ("mi amiga se tomó algo y no se despierta", "urgent"),
        ("no siento las piernas después de lo que me tomé", "urgent"),
        # ordinary
        ("tonight's the night, lasagna competition", "none"),
        ("he's going to kill me in fortnite later, he's way better", "none"),
        ("if she doesn't text back I'm going to die of suspense", "none"),
        ("my therapist asked me to write a goodbye letter to my addiction", "none"),
        ("sorry I won't be here tomorrow night, work shift", "none"),
        ("giving away baby clothes my kids grew out of, anyone want them?", "none"),
        ("the painkillers are kicking in finally, my back feels better", "none"),
        ("ya me hizo efecto el ibuprofeno, por fin", "none"),
        ("adiós a todos, me voy a dormir, buenas noches", "none"),
    ],
)
def test_round_five_examples(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


def test_lowering_says_why() -> None:
    screener = default_screener()
    assert {m.reason for m in screener.screen("my friend said she wants to die").matches} == {
        "others"
    }
    assert {m.reason for m in screener.screen("i want to die lol").matches} == {"soft"}
    assert {m.reason for m in screener.screen("when I was 15 I took 40 pills").matches} == {"past"}


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # short farewells: love or thanks + sorry or goodbye + an ending or a message for someone
        ("tell my brother i love him. sorry for everything", "urgent"),
        ("im done. bye. love yall", "urgent"),
        ("sorry i'm late, tell mum i love her", "none"),
        ("goodbye for now, love you all, see you next week", "none"),
        ("los quiero mucho, perdón, ya no puedo más", "urgent"),
        ("perdón por no venir, los quiero, nos vemos el lunes", "none"),
        # stroke without the face
        ("my speech is slurring and my leg feels heavy", "urgent"),
        ("slurring a bit after wine and my arm is numb lol", "none"),
        # blood in a place: only when the writer is hurt
        ("i cut my arm, theres blood on the floor", "urgent"),
        ("there's blood all over the kitchen, the cat caught a mouse", "none"),
        ("my heart is racing after my third espresso and i took my pills", "none"),
        # things that "me van a matar"
        ("me va a matar el examen de física", "none"),
        ("mi papá me va a matar cuando vea el coche", "none"),
        ("mi novio me va a matar, tiene un cuchillo", "urgent"),
        # ideation over time is concern; now, urgent
        ("been thinking about suicide on and off for months", "concern"),
        ("i'm thinking about suicide", "urgent"),
        ("me corté ayer, no fue profundo", "concern"),
        ("me corté y es profundo, no para de sangrar", "urgent"),
        ("quisiera no despertar mañana", "concern"),
        # violence in the past is lowered; now, not
        ("my ex hit me years ago", "concern"),
        ("my ex hit me again tonight", "urgent"),
        ("i'm at the cliffs, not coming home", "urgent"),
        ("at the bridge for the sunset, not coming home till late", "none"),
    ],
)
def test_round_six_examples(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


# Round seven (en-2026.11-7, es-2026.11-7): families from three new training sets, and ordinary
# messages that share their words. Checked with the lexicon alone.


@pytest.mark.parametrize(
    ("text", "lang", "level"),
    [
        ("gonna end it after work, nobody will even notice", "en", "urgent"),
        ("im finishing it this evening", "en", "urgent"),
        ("taking everything tonight and making sure i dont wake up", "en", "urgent"),
        ("mum passed in march. i'm going to be with her tonight, i've decided", "en", "urgent"),
        ("dad died last year, going to be with her family tonight for his birthday", "en", "none"),
        ("not running away, i mean leaving for good. tonight", "en", "urgent"),
        ("leaving for good, new job in leeds starts monday, bye all", "en", "none"),
        ("i picked a date. thursday, after my mums birthday", "en", "urgent"),
        ("we picked a date for the wedding, saturday in june", "en", "none"),
        ("wrote the letters, one for each of them. it's happening saturday", "en", "urgent"),
        ("wrote thank you cards for the team, posting them friday", "en", "none"),
        ("counted them twice. should be enough", "en", "urgent"),
        ("got tablets from four different pharmacies so nobody would ask", "en", "urgent"),
        ("my stepdad keeps a rifle in the wardrobe and i found the key", "en", "urgent"),
        ("my uncle keeps a rifle in the cabinet for hunting season", "en", "none"),
        ("on the station platform and i keep looking at the edge", "en", "urgent"),
        ("at the station, train delayed again, it's quiet here", "en", "none"),
        ("i relapsed tonight and it's still going, it won't stop", "en", "urgent"),
        ("sitting on the bathroom floor with the blade", "en", "urgent"),
        ("sitting on the floor cutting paper snowflakes with my niece", "en", "none"),
        ("banged my head on the wall again and again, now seeing double", "en", "urgent"),
        ("hit my head on the cupboard and felt dizzy for a sec lol", "en", "none"),
        ("he's got a knife and he's between me and the door", "en", "urgent"),
        ("my brother's got his baseball bat, he's outside practising", "en", "none"),
        ("she pinned me against the wall and says next time is worse", "en", "urgent"),
        ("my ex found where i live and he's outside in a car", "en", "urgent"),
        ("my stalker ex found me and is in the car park now", "en", "urgent"),
        ("my sister stabbed me in the back and told everyone", "en", "none"),
        ("mixed my sleeping pills with wine and everything is spinning", "en", "urgent"),
        ("my son is diabetic and he's confused and slurring", "en", "urgent"),
        ("inhaler isn't working and it's getting worse", "en", "urgent"),
        ("chest feels crushed and my left arm is numb, probably anxiety", "en", "urgent"),
        ("new blood pressure pills make me dizzy, doctor says it settles", "en", "none"),
        ("got my blood taken today and didn't faint", "en", "none"),
        ("i ruin everything i touch", "en", "concern"),
        ("cant imagine any future for me", "en", "concern"),
        ("some nights i pray i don't wake up", "en", "concern"),
        ("it should have been me instead", "en", "concern"),
        ("i know exactly where the razors are", "en", "concern"),
        ("my flatmate self harms and i don't know what to say", "en", "concern"),
        ("im gonna kms if this printer doesnt work", "en", "none"),
        ("dice que de esta casa no salgo viva", "es", "urgent"),
        ("me ha apretado el cuello y está en el salón", "es", "urgent"),
        ("estoy en el baño haciéndome daño", "es", "urgent"),
        ("ya elegí la fecha, el sábado lo hago", "es", "urgent"),
        ("elegimos la fecha de la boda, el sábado", "es", "none"),
        ("dejé una carta para cada uno, es mañana temprano", "es", "urgent"),
        ("mezclé las pastillas con vino y me siento muy mal", "es", "urgent"),
        ("mi padre tiene la cara caída de un lado y no le salen las palabras", "es", "urgent"),
        ("no valgo para nada", "es", "concern"),
        ("uso mangas largas para que no vean las marcas", "es", "concern"),
        ("recaí con el tabaco el finde, vuelta a empezar", "es", "none"),
        ("mi mamá me va a matar si ve el boletín", "es", "none"),
    ],
)
def test_round_seven_examples(text: str, lang: str, level: str) -> None:
    assert lexicon_alone().screen(text, lang).level.label == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("i keep wishing i wouldnt wake up", "concern"),
        ("praying i dont wake up tomorrow", "concern"),
        ("wishing i could disappear for the weekend lol", "none"),
        ("i was praying my phone would not die", "none"),
    ],
)
def test_round_eight_examples(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "en").level.label == level


# Spanish review (es-2026.11-8): common ways of saying it across Spain and Latin America, chat
# spellings, and everyday hyperbole that must stay quiet.
@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("no doy más, me quiero ir de este mundo", "urgent"),
        ("me kiero matar", "urgent"),
        ("xq no me mato de una vez", "urgent"),
        ("me voy a pegar un tiro, ya no puedo más", "urgent"),
        ("me quiero quitar la vida", "urgent"),
        ("me voy a cortar las venas", "urgent"),
        ("mi padrastro me pega", "urgent"),
        ("me quiere matar y está en la puerta", "urgent"),
        ("mi papá llegó borracho y dice q esta noche nos mata a todos", "urgent"),
        ("se me está hinchando la lengua y me cuesta respirar", "urgent"),
        ("no sé cuántas pastillas me tomé, como veinte", "urgent"),
        ("no doy más", "concern"),
        ("le pido a dios que me lleve", "concern"),
        ("estoy harta de estar viva", "concern"),
        ("q ganas de no existir", "concern"),
        ("me muero de risa", "none"),
        ("me mata el calor", "none"),
        ("estoy muerto, mañana hablamos", "none"),
        ("me corté el pelo y quedó fatal", "none"),
        ("quiero cortarme el flequillo", "none"),
        ("me quiero morir de la vergüenza", "none"),
        ("me voy a matar estudiando para el final", "none"),
        ("no doy más de sueño", "none"),
        ("hubo cortes de luz toda la tarde", "none"),
        ("para qué sirve este botón", "none"),
        ("hoy es mi último día en el trabajo, gracias por todo chicos", "none"),
        ("compré una cuerda para colgar la ropa en el balcón", "none"),
    ],
)
def test_spanish_review_examples(text: str, level: str) -> None:
    assert lexicon_alone().screen(text, "es").level.label == level


# Issue 12: families of mistakes on real people's words (written for this test, not copied).
@pytest.mark.parametrize(
    ("text", "lang", "level"),
    [
        # someone else is the subject, or suicide is the topic: a human looks, nobody is paged
        ("if you commit suicide it will hurt everyone who loves you", "en", "concern"),
        ("do you want to die or do you want the pain to stop?", "en", "concern"),
        ("no one should ever commit suicide over a job", "en", "concern"),
        ("find a therapist who has worked with suicidal thoughts", "en", "concern"),
        ("he told me to kill myself in the comments", "en", "concern"),
        ("we are all going to die someday, so enjoy the cake", "en", "concern"),
        # ... but the writer nearer, or the writer named, is the writer
        ("you know what, i want to die", "en", "urgent"),
        ("they make me feel worthless and i want to die", "en", "urgent"),
        ("im going to commit suicide tonight", "en", "urgent"),
        ("my suicidal thoughts are back tonight", "en", "urgent"),
        ("if you see this, i want to die and i have the pills", "en", "urgent"),
        # the phrase itself denied, or hyperbole about a cause
        ("i don t want to die, i want this week to end", "en", "concern"),
        ("i ll never kill myself, dont worry about that", "en", "concern"),
        ("this playlist makes me want to die", "en", "concern"),
        ("id probably kill myself if they cancel the show", "en", "concern"),
        ("do not commit suicide, we love you", "en", "concern"),
        ("im not considering killing myself, i just feel low", "en", "concern"),
        # wanting to die said other ways, hating oneself, asking how easy dying is
        ("i hate myself so much", "en", "concern"),
        ("honestly i would like to die", "en", "concern"),
        ("how easy is it to die by pills", "en", "concern"),
        # things that die, and dying of something harmless
        ("my phone is about to die, text me later", "en", "none"),
        ("i nearly died of embarrassment at the meeting", "en", "none"),
        # lowering undone only by what is said near the match, not anywhere in a long post
        (
            "my friend said she wants to die. we talked for an hour. she has a therapist. "
            "she is seeing her on monday. we went for a walk. what should i say right now",
            "en",
            "concern",
        ),
        ("my friend said she wants to die and she is not answering", "en", "urgent"),
        # Spanish first person: infinitives, gerunds, hating oneself, disappearing
        ("quiero desaparecer y ya", "es", "concern"),
        ("me odio a mi mismo", "es", "concern"),
        ("otra vez queriéndome matar", "es", "concern"),
        ("a veces quiero dormir y nunca más despertar", "es", "concern"),
        ("planeo matarme el viernes", "es", "urgent"),
        ("no quiero morir, quiero que pare", "es", "concern"),
        ("no quiero vivir en esta ciudad", "es", "none"),
        ("un día como hoy murió mi cantante favorito", "es", "none"),
    ],
)
def test_real_text_families(text: str, lang: str, level: str) -> None:
    assert lexicon_alone().screen(text, lang).level.label == level


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("i don t want to", ["i", "dont", "want", "to"]),
        ("i m fine, it s ok, i ll go", ["im", "fine", "its", "ok", "ill", "go"]),
        ("a t shirt", ["a", "t", "shirt"]),
    ],
)
def test_an_apostrophe_typed_as_a_space_is_joined(text: str, words: list[str]) -> None:
    from bot.core.screening import normalise_words

    assert normalise_words(text) == words


@pytest.mark.parametrize("sensitivity", list(Sensitivity))
@pytest.mark.parametrize("text", ["tonight", "esta noche", "sí", "yes", "I have", "ok tonight"])
def test_a_word_or_two_alone_pages_no_one(text: str, sensitivity: Sensitivity) -> None:
    # The learned stage once paged for "tonight" on its own: one word's weight, no evidence.
    # (Such a reply right after the member's own concern is screened with it: safety_context.)
    assert default_screener().at(sensitivity).screen(text, "en").level is Level.NONE
    assert default_screener().at(sensitivity).screen(text, "es").level is Level.NONE


@pytest.mark.parametrize("sensitivity", list(Sensitivity))
def test_a_short_message_with_a_crisis_phrase_still_pages(sensitivity: Sensitivity) -> None:
    for text in ("kill myself", "me quiero morir", "goodbye forever"):
        assert default_screener().at(sensitivity).screen(text).level is not Level.NONE, text
