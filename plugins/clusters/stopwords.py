"""Stop words for cluster keywords: English, German and French (built in, no download).

Function words only (articles, pronouns, prepositions, auxiliaries, common
adverbs), lower case; accents kept. Short lists in the spirit of the Snowball
project's stop word lists, trimmed to words that carry no topic.
"""
from __future__ import annotations

ENGLISH = """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each either etc few for from further had has have having he
her here hers herself him himself his how however i if in into is it its itself just may me might more most must
my myself no nor not now of off on once one only or other our ours ourselves out over own per same shall she
should so some such than that the their theirs them themselves then there these they this those through thus to
too under until up upon us use used uses using very via was we were what when where whether which while who whom
whose why will with within without would yet you your yours yourself yourselves
"""
GERMAN = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus bei
bin bis bist da damit dann das dass dein deine dem den denn der derer des dessen dich die dies diese diesem diesen
dieser dieses dir doch dort du durch ein eine einem einen einer eines einig einige er es etwas euch euer eure für
gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres
im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen
keiner können könnte machen man manche mein meine mich mir mit muss musste nach nicht nichts noch nun nur ob oder
ohne sehr sein seine seinem seinen seiner sich sie sind so solche soll sollte sondern sonst über um und uns unser
unter viel vom von vor war waren warst was weil weiter welche welchem welchen welcher welches wenn werde werden
wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen
"""
FRENCH = """
à afin ai aie aient ainsi alors au aucun aucune aussi autre autres aux avec avoir avons ayant ce ceci cela celle
celles celui ces cet cette ceux chaque comme comment d dans de des donc dont du elle elles en encore entre es est
et étaient était été être eu eux fait faire fut il ils j je l la le les leur leurs lui m ma mais me même mes moi
mon n ne ni nos notre nous on ont ou où par parce pas peu peut plus pour pourquoi qu quand que quel quelle quelles
quels qui s sa sans se selon ses si son sont sous sur t ta te tes toi ton tous tout toute toutes très tu un une
vos votre vous y
"""
STOP_WORDS: frozenset[str] = frozenset((ENGLISH + GERMAN + FRENCH).split())
