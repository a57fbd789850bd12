"""A broad lexicon of everyday English for the plain-sentence grammar (grammar.py).

Nouns come in categories so that verbs take sensible objects (you eat food and wear clothes); verbs are
(base, past) pairs with the object category they take. Lists are ordered roughly from common to rare, because the
grammar draws from them with Zipf-like weights. Data only: this module does not choose or build sentences.
"""

from __future__ import annotations

NOUNS = {
    "food": "apple bread cake cookie soup egg banana milk cheese pie orange sandwich carrot rice pancake tomato "
            "potato pear plum grape peach lemon muffin cereal pizza salad noodle bean corn candy popcorn nut "
            "watermelon strawberry cracker pumpkin onion juice tea honey butter jam".split(),
    "animal": "dog cat bird fish horse cow duck rabbit mouse frog bear fox pig sheep goat owl hen chick puppy "
              "kitten squirrel turtle snake lion tiger monkey elephant deer bee butterfly spider ant worm snail "
              "whale dolphin crab goose donkey parrot bat wolf".split(),
    "thing": "ball book box cup bag hat key toy doll kite stick stone coin shell bell rope basket blanket lamp "
             "clock pencil crayon paper card letter picture map jar bottle bucket spoon plate bowl brush comb "
             "mirror umbrella candle ribbon button flag drum whistle balloon puzzle sticker note gift wagon "
             "shovel ladder net sled".split(),
    "clothes": "coat hat scarf sock shoe boot glove dress shirt jacket sweater cap mitten belt".split(),
    "vehicle": "bike car bus train boat truck wagon plane tractor scooter ship".split(),
    "place": "park garden house school kitchen yard forest beach farm river lake town shop street hill field "
             "pond library market zoo museum barn village city bakery store playground bedroom classroom "
             "bridge harbor island cave meadow station hospital castle".split(),
    "nature": "tree flower leaf rock sun moon star cloud rain snow wind sky grass sea water mud puddle hill "
              "branch seed nest feather rainbow shadow".split(),
    "person": "boy girl baby mother father friend teacher farmer baker doctor neighbor grandma grandpa sister "
              "brother aunt uncle man woman king queen child nurse pilot cook driver".split(),
}
# (base, past, object category or None for intransitive)
VERBS = [
    ("see", "saw", "any"), ("find", "found", "any"), ("want", "wanted", "any"), ("like", "liked", "any"),
    ("eat", "ate", "food"), ("take", "took", "thing"), ("make", "made", "food"), ("carry", "carried", "thing"),
    ("hold", "held", "thing"), ("drop", "dropped", "thing"), ("buy", "bought", "food"), ("wear", "wore", "clothes"),
    ("ride", "rode", "vehicle"), ("feed", "fed", "animal"), ("hug", "hugged", "person"), ("help", "helped", "person"),
    ("visit", "visited", "person"), ("watch", "watched", "animal"), ("draw", "drew", "any"),
    ("paint", "painted", "thing"), ("clean", "cleaned", "thing"), ("fix", "fixed", "vehicle"),
    ("lose", "lost", "thing"), ("open", "opened", "thing"), ("share", "shared", "food"),
    ("pick", "picked", "nature"), ("cook", "cooked", "food"), ("wash", "washed", "clothes"),
    ("throw", "threw", "thing"), ("catch", "caught", "animal"),
    ("chase", "chased", "animal"), ("follow", "followed", "animal"), ("count", "counted", "nature"),
    ("bring", "brought", "food"), ("hide", "hid", "thing"), ("need", "needed", "thing"),
    ("push", "pushed", "vehicle"), ("pull", "pulled", "vehicle"), ("smell", "smelled", "food"),
    ("taste", "tasted", "food"),
    ("call", "called", "person"),
    ("meet", "met", "person"), ("thank", "thanked", "person"), ("build", "built", "thing"), ("fill", "filled", "thing"),
    ("put on", "put on", "clothes"), ("take off", "took off", "clothes"), ("look for", "looked for", "any"),
    ("play with", "played with", "thing"), ("talk to", "talked to", "person"), ("wait for", "waited for", "person"),
    ("run", "ran", None), ("walk", "walked", None), ("jump", "jumped", None), ("sleep", "slept", None),
    ("laugh", "laughed", None), ("cry", "cried", None), ("sing", "sang", None), ("dance", "danced", None),
    ("swim", "swam", None), ("climb", "climbed", None), ("play", "played", None), ("rest", "rested", None),
    ("shout", "shouted", None), ("smile", "smiled", None), ("wave", "waved", None), ("hop", "hopped", None),
    ("skip", "skipped", None), ("fall", "fell", None), ("stop", "stopped", None), ("wait", "waited", None),
    ("listen", "listened", None), ("whisper", "whispered", None), ("work", "worked", None), ("read", "read", None),
    ("write", "wrote", None), ("fly", "flew", None), ("hurry", "hurried", None), ("sit down", "sat down", None),
]
ADJS = ("big little small old new red blue green yellow happy sad kind funny pretty tall short long soft warm "
        "cold hot wet dry dark bright clean dirty quiet loud fast slow brave shy hungry sleepy heavy light round "
        "shiny tiny huge strong gentle friendly busy lazy fresh sweet sour empty full broken special").split()
ADVS = ["slowly", "quickly", "quietly", "happily", "sadly", "carefully", "loudly", "gently", "again", "away",
        "home", "outside", "inside", "all day", "very fast", "right away", "at once", "for a long time"]
PREPS = ["in the", "at the", "near the", "by the", "behind the", "under the", "next to the", "across the",
         "around the", "into the", "over the", "through the", "on top of the", "in front of the"]
TIMES = ["In the morning", "After school", "At night", "Last week", "On Saturday", "Every day", "Yesterday",
         "One day", "After lunch", "Before dinner", "In the winter", "In the summer", "That evening",
         "The next day", "Every morning", "At first", "After a while", "Suddenly", "Later that day", "Today"]
SUBJECTS = [("the boy", "he"), ("the girl", "she"), ("my mom", "she"), ("my dad", "he"), ("the old man", "he"),
            ("the little girl", "she"), ("the dog", "it"), ("the cat", "it"), ("a little bird", "it"),
            ("the teacher", "she"), ("the farmer", "he"), ("my friend", "she"), ("the children", "they"),
            ("my brother", "he"), ("my sister", "she"), ("grandma", "she"), ("grandpa", "he"),
            ("the baby", "she"), ("we", "we"), ("I", "I"), ("they", "they"), ("the puppy", "it"),
            ("the old woman", "she"), ("the baker", "he"), ("the king", "he"), ("the queen", "she")]
FEELS = ("happy sad glad scared tired angry excited proud surprised worried sorry hungry cold lonely bored "
         "calm shy thankful sleepy upset").split()
REASONS = ["it was raining", "the sun was out", "it was late", "it was very cold", "the door was open",
           "nobody was home", "it was a holiday", "the bus was late", "the shop was closed", "the water was warm",
           "the cake was ready", "it was getting dark", "the snow was deep", "the music was loud"]
