"""The word lists behind the story generator (generator.py): characters, things, places, verbs, feelings, morals.

Each list is ordered from most to least common, because generator.py draws from it with Zipf-like weights
(the first entry is picked about twice as often as the second, three times as often as the third, and so on).
This module holds data only; it does not choose, fill or join anything.
"""

from __future__ import annotations

# (name, subject pronoun, object pronoun, possessive)
PEOPLE = [
    ("Lily", "she", "her", "her"), ("Tom", "he", "him", "his"), ("Ben", "he", "him", "his"),
    ("Mia", "she", "her", "her"), ("Sam", "he", "him", "his"), ("Anna", "she", "her", "her"),
    ("Max", "he", "him", "his"), ("Lucy", "she", "her", "her"), ("Tim", "he", "him", "his"),
    ("Sara", "she", "her", "her"), ("Jack", "he", "him", "his"), ("Emma", "she", "her", "her"),
    ("Leo", "he", "him", "his"), ("Zoe", "she", "her", "her"), ("Ella", "she", "her", "her"),
    ("Joe", "he", "him", "his"), ("Amy", "she", "her", "her"), ("Dan", "he", "him", "his"),
    ("Rosa", "she", "her", "her"), ("Nick", "he", "him", "his"), ("Kim", "she", "her", "her"),
    ("Finn", "he", "him", "his"), ("Ruby", "she", "her", "her"), ("Omar", "he", "him", "his"),
    ("Nina", "she", "her", "her"), ("Jake", "he", "him", "his"), ("Grace", "she", "her", "her"),
    ("Alex", "he", "him", "his"), ("Maya", "she", "her", "her"), ("Ravi", "he", "him", "his"),
    ("Hana", "she", "her", "her"), ("Paul", "he", "him", "his"), ("Ivy", "she", "her", "her"),
    ("Kofi", "he", "him", "his"), ("Luna", "she", "her", "her"), ("Eli", "he", "him", "his"),
]
ANIMALS = ["cat", "dog", "bird", "bunny", "bear", "fox", "frog", "mouse", "duck", "owl", "puppy", "kitten",
           "pig", "lion", "horse", "cow", "sheep", "fish", "turtle", "monkey", "squirrel", "elephant", "hen",
           "goat", "deer", "bee", "snail", "tiger", "whale", "ant"]
ANIMAL_NAMES = ["Spot", "Tiny", "Fluffy", "Max", "Bella", "Coco", "Pip", "Buddy", "Daisy", "Sunny", "Rex",
                "Milo", "Bubbles", "Ginger", "Patch", "Socks", "Rosie", "Bob"]
FAMILY = [("mom", "she", "her", "her"), ("dad", "he", "him", "his"), ("grandma", "she", "her", "her"),
          ("grandpa", "he", "him", "his"), ("big sister", "she", "her", "her"),
          ("big brother", "he", "him", "his"), ("aunt", "she", "her", "her"), ("uncle", "he", "him", "his")]
ADULTS = ["teacher", "farmer", "baker", "doctor", "old man", "old woman", "king", "queen", "neighbor",
          "mailman", "police officer", "shopkeeper"]

# What a cat, a dog or a child sits on: the Zipf order makes "mat" the clear favourite with a long tail.
SURFACES = ["mat", "rug", "bed", "chair", "floor", "grass", "sofa", "box", "wall", "table", "step", "log",
            "rock", "fence", "pillow", "blanket", "roof", "bench", "hill", "couch", "sand", "stool", "porch",
            "cushion", "carpet", "branch", "swing", "shelf", "boat", "bridge"]
TOYS = ["ball", "doll", "kite", "toy car", "teddy bear", "book", "drum", "red ball", "train", "puzzle",
        "truck", "robot", "boat", "hat", "blocks", "crayon", "balloon", "bike", "shell", "yo-yo", "wagon",
        "jump rope", "whistle", "top", "box of paints"]
FOODS = ["cake", "apple", "cookie", "soup", "bread", "banana", "pie", "ice cream", "carrot", "sandwich",
         "cheese", "milk", "honey", "pizza", "candy", "grapes", "egg", "orange", "jam", "muffin", "corn",
         "pear", "rice", "berries", "lemonade"]
THINGS = ["key", "box", "hat", "shoe", "cup", "flower", "stone", "leaf", "stick", "coin", "letter", "map",
          "bag", "spoon", "bell", "ring", "feather", "rope", "basket", "lamp", "clock", "mirror", "scarf",
          "sock", "jar", "button", "star", "seed", "bucket", "nest"]
PLACES = ["park", "garden", "forest", "house", "beach", "farm", "school", "town", "river", "lake", "hill",
          "zoo", "shop", "field", "kitchen", "yard", "village", "pond", "library", "city", "cave", "meadow",
          "playground", "market", "woods", "castle", "sea", "mountain", "barn", "street"]
PLACE_ADJS = ["small", "big", "quiet", "little", "sunny", "green", "faraway", "busy", "pretty", "old",
              "cold", "warm", "peaceful", "magical", "dark", "happy", "tiny", "noisy"]
ADJS = ["little", "big", "happy", "small", "kind", "old", "funny", "brave", "shy", "silly", "good", "curious",
        "sleepy", "friendly", "tiny", "clever", "gentle", "young", "busy", "lazy", "proud", "quiet", "wise",
        "bright", "playful", "sad", "grumpy", "fast", "strong", "hungry"]
THING_ADJS = ["red", "big", "new", "shiny", "blue", "little", "old", "pretty", "green", "yellow", "soft",
              "round", "special", "tiny", "pink", "golden", "heavy", "purple", "white", "black", "broken",
              "warm", "bright", "strange", "long", "smooth", "funny", "dirty", "wet", "clean"]
COLORS = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "black", "brown", "gold"]
FEELINGS = ["happy", "sad", "scared", "excited", "angry", "tired", "proud", "surprised", "worried", "glad",
            "lonely", "hungry", "bored", "calm", "upset", "nervous", "curious", "thankful", "sorry", "silly"]
WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "snowy", "cloudy", "hot", "bright", "foggy"]
TIMES = ["One day", "One morning", "One sunny day", "Later", "Then", "After lunch", "That night",
         "The next day", "One evening", "Soon", "In the morning", "After a while", "That afternoon",
         "On Sunday", "One summer day", "One cold winter day", "The next morning", "At noon"]
# Past-tense intransitive actions (subject did X), most common first.
ACTS = ["played", "ran", "jumped", "laughed", "smiled", "danced", "sang", "walked", "cried", "waited",
        "slept", "looked around", "shouted", "sat down", "hid", "climbed", "swam", "rested", "nodded",
        "giggled", "clapped", "sighed", "hopped", "skipped", "listened", "wondered", "yawned", "ran away",
        "stood still", "called out", "whispered", "spun around", "fell down", "cheered", "ate"]
# Past-tense transitive verbs taking a thing.
TVERBS = ["found", "saw", "took", "liked", "wanted", "picked up", "had", "made", "loved", "held", "dropped",
          "lost", "kicked", "threw", "carried", "shared", "gave away", "hid", "painted", "washed", "fixed",
          "hugged", "pushed", "pulled", "opened", "broke", "drew", "counted", "cleaned", "showed"]
# Base-form verbs for "wanted to X", "let's X", "can we X".
BASE_ACTS = ["play", "go outside", "see the sea", "fly", "help", "build a house", "find a friend",
             "bake a cake", "read a book", "climb the tree", "swim", "dance", "sing a song", "go home",
             "ride a bike", "catch a fish", "plant a seed", "paint a picture", "have fun", "eat", "sleep",
             "make a snowman", "look for shells", "fly a kite", "go to the park", "win the race",
             "visit grandma", "jump in the puddles", "pick flowers", "count the stars"]
GREETINGS = ["Hello", "Hi", "Hello there", "Hi there", "Good morning", "Hey", "Hello, friend",
             "Hello world", "Hello, world", "Hi, friend", "Good night", "Good day", "Howdy"]
VOC_GREETINGS = ["Hello", "Hi", "Hi there", "Hello there", "Good morning", "Hey"]  # before a name
SAY_VERBS = ["said", "asked", "shouted", "cried", "whispered", "replied", "answered", "called", "laughed",
             "yelled", "sang", "told"]
MORALS = [
    "It is good to share.", "Friends help each other.", "Be kind to others.",
    "It is okay to ask for help.", "Always tell the truth.", "Do not give up.",
    "Be careful and listen to your mom.", "Being brave means trying even when you are scared.",
    "Saying sorry can fix a lot.", "Hard work pays off.", "Everyone is good at something.",
    "It is fun to try new things.", "A friend in need is a friend indeed.", "Slow and steady wins the race.",
    "Sharing makes everyone happy.", "Say please and thank you.", "Never judge someone by how they look.",
]
ENDINGS = ["The end.", "They were best friends.", "They lived happily ever after.",
           "And they all went home happy.", "It was the best day ever.", "They never forgot that day.",
           "Then they all went to sleep.", "They played together every day after that."]
