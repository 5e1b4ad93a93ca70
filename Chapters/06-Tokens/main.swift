// Chapter 06 · Tokens: byte-pair encoding, and a fair comparison with characters
// ===============================================================================
//
// Every model so far read one character at a time. GPT-2 reads tokens: pieces of text such as "the",
// " and" or "ing" that a byte-pair encoder learned from data. This chapter trains one on our text
// (TextData/BytePairTokenizer.swift: start from the 256 byte values, merge the most frequent adjacent
// pair, repeat), looks at what it learned, then trains chapter 05's NanoGPT on its tokens and on
// characters, and compares the two fairly: in bits per character of the same validation text.
//
//   swift run -c release ch06            (--quick for a few seconds, --help for every flag)
//
// Why bits per character: a loss per token is not comparable with a loss per character, since a token
// stands for several characters. What is comparable is the total: a model's loss summed over a text, in
// nats, is -ln of the probability it gives the whole text, whatever pieces it reads it in. Divided by the
// text's tokens it is the loss per token; divided by its characters, the loss per character. So loss per
// character = loss per token ÷ characters per token, and ÷ ln 2 turns nats into bits. For example, a
// model at 3.10 nats per token whose tokens hold 2.0 characters each: 3.10 / 2.0 / 0.693 = 2.24 bits per
// character.
//
// The way through: sections 1 to 4 train the tokenizer, encode and decode with it, and look at what its
// tokens hold; section 5 trains the same NanoGPT on characters and on tokens and compares them in bits per
// character; section 6 asks what the win is made of, with a control run; sections 7 and 8 stream, save
// and plot; section 9 is an aside on GPT-2's pre-split and on where bytes stay alone; section 10 the code
// around the idea.
//
// Expected: the first merge is 'e' + ' ' -> 'e ', and text shrinks to about half as many tokens. Measured
// on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build, `swift run -c release ch06 --data
// tinyshakespeare.txt`: 1.96 characters per token over the whole text (1.94 over the validation text); val about 2.31 bits per
// character on characters (chapter 05's model) against about 2.21 on byte pairs (this page's table has its run).
import ArgumentParser
import ChapterSupport
import Checkpoints
import FileFormats
import Foundation
import NanoGPT
import Plotting
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters
//
// Chapter 05's, for both models. Each can be overridden by a flag of the same name (`--steps 2000`,
// `--vocabulary-size 1024`, `--pre-split gpt2`, ...).

var defaults = Hyperparameters.nanoGPT   // chapter 05's recipe, for both models
defaults.maxNewTokens = 300              // a shorter sample than chapter 05's 500
let defaultVocabularySize = 512   // 256 bytes + 256 merges: small, so the output layer stays cheap on a CPU

let (command, settings, report) = Chapter06.start(defaults, plots: "06-tokens", title: "Tokens (BPE)")   // the flags: Flags.swift
let options = command.training
let vocabularySize = options.vocabularySize ?? (options.quick ? 300 : defaultVocabularySize)
let preSplit = options.preSplit ?? PreSplit.none
print("Chapter 06 · Tokens\n")
section("Hyperparameters")
print("both models:\n\(settings.table)")
print("  byte pairs         \(vocabularySize) tokens (256 bytes + \(vocabularySize - 256) merges), pre-split \(preSplit.rawValue)\n")

// MARK: - 1. Training a byte-pair tokenizer
//
// The idea, as minbpe writes it: start from the text's UTF-8 bytes (256 possible tokens), count every
// adjacent pair, merge the most frequent pair into a new token everywhere it occurs, and repeat until the
// vocabulary is full. Encoding applies the learned merges to new text. Below is the plain version, which
// recounts every pair before each merge. One departure from minbpe, here and in the library: of pairs
// equally frequent, minbpe merges the one it met first in the text, ours the smallest (lowest first id,
// then lowest second id), so that the order of a dictionary never matters:
// show: Sources/TextData/PlainBytePairs.swift PlainBytePairs
//
// (`preSplit` cuts the text into chunks that no merge may cross. This chapter's default, `none`, keeps the
// text whole, as minbpe's BasicTokenizer does: the simplest tokenizer, and the one this page explains.
// GPT-2's pre-split is the aside of section 9, and exercise 4 trains a model on it, to see whether the
// simplest tokenizer is also the best one.)
//
// The plain version on a toy text, merge by merge, each line after the counts it chose from. A count is
// the number of places a pair occurs: in "aaa" the pair (97, 97) occurs twice, though a merge, left to
// right, joins only the first two. After the first merge two pairs occur twice each, and the smaller wins:
section("1. Training a byte-pair tokenizer")
let toyText = "aaabdaaabac"
var toyTokens = Array(toyText.utf8).map(Int.init)
print("\(toyText) as bytes: \(toyTokens)")
for (index, pair) in PlainBytePairs.train(toyText, vocabularySize: 259).enumerated() {
    var counts: [TokenPair: Int] = [:]
    PlainBytePairs.pairCounts(toyTokens, into: &counts)
    // sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])): the most frequent first, ties by the smaller pair
    print("  pair counts: " + counts.sorted { ($1.value, $0.key.first, $0.key.second) < ($0.value, $1.key.first, $1.key.second) }
        .map { "(\($0.key.first), \($0.key.second)) \($0.value)" }.joined(separator: ", "))
    toyTokens = PlainBytePairs.merge(toyTokens, pair, into: 256 + index)
    print("merge \(256 + index) = (\(pair.first), \(pair.second)) -> \(toyTokens)")
}
endOfCell()
// The run below uses the library's trainer, `BytePairTokenizer.train`: it learns the same merges as the
// plain version, faster (the check that the two agree comes right after its output). It learns from the
// first 90% of the text only: the validation text must stay unseen by the tokenizer too. That 90% is cut
// the same way every chapter cuts its text, in characters, before any encoding:
// show: Sources/TextData/TokenDataset.swift TokenDataset.cut TokenDataset.trainingText

// Before the output: which pair do you expect to be merged first, in Shakespeare's text (without a
// pre-split, a merge may join a letter and the space after it)? And how many times more often than the
// tenth?
let text = exitOnError { try Corpus.load(path: options.data) }
let trainingText = TokenDataset.trainingText(of: text)
var mergeCounts: [Int] = []
let tokenizerStart = Date()
let bytePairs = exitOnError {
    try BytePairTokenizer.train(on: trainingText, vocabularySize: vocabularySize, preSplit: preSplit) { _, _, count in
        mergeCounts.append(count)
    }
}
let tokenizerSeconds = Date().timeIntervalSince(tokenizerStart)
print(String(format: "trained %d merges on %@ characters in %.2f s (pre-split: %@)", bytePairs.merges.count,
             grouped(trainingText.unicodeScalars.count), tokenizerSeconds, preSplit.rawValue))

print("\nthe first merges, each the most frequent pair at the time:")
for (index, pair) in bytePairs.merges.prefix(10).enumerated() {
    print("  \(256 + index): \(bytePairs.display(pair.first)) + \(bytePairs.display(pair.second)) -> "
          + "\(bytePairs.display(256 + index))   (\(grouped(mergeCounts[index])) times)")
}
if mergeCounts.count >= 10 {
    print(String(format: "the first merge's pair occurred %.1f times as often as the tenth's", Double(mergeCounts[0]) / Double(mergeCounts[9])))
}
let longest = (256..<bytePairs.vocabularySize).sorted { bytePairs.tokenBytes[$0].count > bytePairs.tokenBytes[$1].count }.prefix(8)
print("the longest tokens: " + longest.map { bytePairs.display($0) }.joined(separator: "  "))
endOfCell()

// The plain version rescans the whole text for every merge, so it slows down with the text. The library's
// trainer keeps a running count of every pair and an index from each pair to the places it occurs, so a
// merge touches only the places where its pair is, plus one look over the distinct pairs' counts to pick
// the next. Recounting costs merges x text; the library's, the places merged plus merges x distinct pairs,
// so the gap between the two grows with the text. It learns the same merges; how it works, traced on a
// small example, with its code, is the appendix's first part (section 10).
//
// The plain version and the library's, on the first 20,000 characters: the same merges, at two speeds.
let excerpt = String(trainingText.prefix(20_000))
let plainStart = Date()
let plainMerges = PlainBytePairs.train(excerpt, vocabularySize: vocabularySize, preSplit: preSplit)
let plainSeconds = Date().timeIntervalSince(plainStart)
let fastStart = Date()
let fastMerges = exitOnError { try BytePairTokenizer.train(on: excerpt, vocabularySize: vocabularySize, preSplit: preSplit).merges }
let fastSeconds = Date().timeIntervalSince(fastStart)
print(String(format: "\non the first 20,000 characters: %d merges; recounting every time %.3f s, incrementally %.3f s; "
             + "the same merges: %@", plainMerges.count, plainSeconds, fastSeconds, plainMerges == fastMerges ? "yes" : "NO")
      + String(format: " (the plain version %.0f times slower)", plainSeconds / fastSeconds))

// MARK: - 2. What the model sees
//
// Encoding is section 1's toy loop: start from the text's bytes and replay the merges in the order they
// were learned. Each pass merges every occurrence of its pair, left to right. Below, those three lines run
// on section 1's 20,000 characters (one chunk: this chapter uses no pre-split). They are checked against
// the library's `encode`, which makes the same passes without copying the text each time. The appendix
// (section 10) shows it, and why minbpe's encode, which loops another way, gives the same tokens too.

section("2. What the model sees")
let excerptBytes = Array(excerpt.utf8)
let onePassPerMerge = preSplit.chunks(excerpt).flatMap { range -> [Int] in
    var tokens = excerptBytes[range].map(Int.init)                                        // a chunk's bytes
    for (index, pair) in bytePairs.merges.enumerated() { tokens = PlainBytePairs.merge(tokens, pair, into: 256 + index) }
    return tokens
}
print("the first 20,000 characters, one pass per merge: \(grouped(onePassPerMerge.count)) tokens; the library's encode: "
      + (onePassPerMerge == bytePairs.encode(excerpt) ? "the same tokens" : "DIFFERENT tokens"))
endOfCell()

// The same text is now a shorter sequence: each token covers a few characters, so a block of T tokens
// spans about twice T characters, and the model sees further back for the same cost per position.
//
// Characters per token, measured below over the whole text and over each split: the validation text,
// which the merges were not learned from, compresses a little less. Section 5 divides its val loss by the
// validation text's number. (The val loss, as in every chapter, is a mean over random batches of the
// validation text.)
// show: Sources/TextData/TokenDataset.swift TokenDataset.charactersPerToken
// show: Sources/TextData/TokenDataset.swift TokenDataset.init
//
// (The character vocabulary is built from the whole text, as in chapter 01 and gpt.py: a list of the
// characters that occur learns nothing else from the text, and the validation text could not be encoded
// without its characters.)
//
// Models, checkpoints and the Trainer hold a `Tokenizer`, so that they do not care which kind it is. It is
// an enum of the two kinds,
//   enum Tokenizer { case characters(CharacterTokenizer), bytePairs(BytePairTokenizer) }
// and each of its members switches on the kind and calls that tokenizer's own. The two that the datasets
// below use, folded:
// fold: Sources/TextData/Tokenizer.swift Tokenizer.vocabularySize Tokenizer.encode
// The character tokenizer is chapter 01's, its vocabulary the text's distinct characters, sorted:
// show: Sources/TextData/CharacterTokenizer.swift CharacterTokenizer.init(training:) CharacterTokenizer.init(scalars:)

let tokenizer = Tokenizer.bytePairs(bytePairs)
let characters = Tokenizer.characters(CharacterTokenizer(training: text))
exitOnError { try settings.checkFitsInMemory(vocabularySize: tokenizer.vocabularySize) }   // the larger vocabulary of the two
// Both models' data, cut from the same text: TokenDataset cuts the text 90/10 first, then encodes each part,
// and counts each part's characters (Unicode scalars) for the bits per character (its initializer is
// shown above).
let characterData = exitOnError { try TokenDataset(text: text, tokenizer: characters, blockSize: settings.blockSize) }
let tokenData = exitOnError { try TokenDataset(text: text, tokenizer: tokenizer, blockSize: settings.blockSize) }
let encodeStart = Date()
let allTokens = bytePairs.encode(text)
let encodeSeconds = Date().timeIntervalSince(encodeStart)
let characterCount = text.unicodeScalars.count
print(String(format: "\nencoded %@ characters (%@ bytes) into %@ tokens in %.3f s: %.2f characters per token",
             grouped(characterCount), grouped(text.utf8.count), grouped(allTokens.count), encodeSeconds,
             Double(characterCount) / Double(max(allTokens.count, 1))))
print(String(format: "the training text alone: %.2f characters per token; the validation text alone: %.2f (the merges never saw it)",
             tokenData.charactersPerToken(in: .train)!, tokenData.charactersPerToken(in: .val)!))
print(String(format: "a block of %d tokens spans about %.0f characters (the character model sees %d)", settings.blockSize,
             Double(settings.blockSize) * Double(characterCount) / Double(max(allTokens.count, 1)), settings.blockSize))

print("\nthe start of the validation text, token by token (| marks the boundaries):")
print("  " + tokenData.val.prefix(60).map { String(decoding: bytePairs.tokenBytes[$0], as: UTF8.self) }.joined(separator: "|")
      .replacingOccurrences(of: "\n", with: "⏎"))
endOfCell()
// MARK: - 3. Round trips on tricky strings
//
// Any text encodes, because every byte is a token: characters the tokenizer never saw fall apart into
// their UTF-8 bytes. Decoding joins the tokens' bytes and reads them as UTF-8, so decode(encode(s)) == s
// always (the tests check it on random Unicode). "The same bytes" below compares UTF-8 bytes: Swift's
// String == would call "e" + combining acute (the third string) equal to "é". `tokenBytes[i]` is token
// i's bytes, built once from the merges (a merged token is its pair's bytes joined; the initializer is in
// section 10):
// show: Sources/TextData/BytePairTokenizer.swift BytePairTokenizer.decode
//
// A token can end in the middle of a character ("é" is two bytes, c3 a9, and may be two tokens), so
// printing token by token must hold such bytes back until their character is whole. The streaming decoder
// every chapter prints with, and the two `Tokenizer` members it uses, folded (the byte-level part is in
// section 10):
// fold: Sources/TextData/Tokenizer.swift TokenTextDecoder Tokenizer.streamingDecoder Tokenizer.bytes(of:)

section("3. Round trips on tricky strings")
print("\nround trips:")
for tricky in ["Hello, world!", "naïve café, déjà vu", "e\u{301} (e + combining acute)", "👋🏽 🇯🇵 👨‍👩‍👧", "日本語のテキスト", "tabs\tand\r\nCRLF"] {
    let ids = bytePairs.encode(tricky)
    let back = bytePairs.decode(ids)
    print("  \(tricky.debugDescription): \(tricky.utf8.count) bytes -> \(ids.count) tokens -> \(Array(back.utf8) == Array(tricky.utf8) ? "the same bytes" : "DIFFERENT")")
}
var printable = tokenizer.streamingDecoder()
let smiled = bytePairs.encode("🙂!")
print("  streaming \"🙂!\" token by token prints: " + smiled.map { printable.text(after: $0).debugDescription }.joined(separator: " ")
      + "   (the emoji's four bytes wait until the last one arrives)")

// MARK: - 4. Token lengths: what the vocabulary holds, and what the text uses
//
// Half of the vocabulary is the 256 single bytes, most of which never occur in an ASCII text; the merges
// are mostly 2 to 4 bytes long. The text uses 2-byte tokens more than their share of the vocabulary, and
// the longer ones less. Before the table, guess what share of the text's tokens are still single bytes
// (they average 1.94 bytes: section 2's 1.94 characters per token, one byte each in this ASCII text).
// details: A hint, after your guess
// 256 merges are few, and a byte stays alone wherever neither of its neighbours made a pair frequent
// enough to be merged with it, which can happen to a common byte too: the space, for one, goes into a
// merge only with its commonest neighbours (section 1's first merges hold "e " and "t "), and stays alone
// beside anything rarer.
// end details

section("4. Token lengths: what the vocabulary holds, and what the text uses")
let maxLength = bytePairs.tokenBytes.map(\.count).max() ?? 1
func shares(_ lengths: [Int]) -> [Double] {
    (1...maxLength).map { length in 100 * Double(lengths.filter { $0 == length }.count) / Double(max(lengths.count, 1)) }
}
let vocabularyShares = shares(bytePairs.tokenBytes.map(\.count))
let textShares = shares(tokenData.val.map { bytePairs.tokenBytes[$0].count })
print("\ntoken length (bytes):   " + (1...maxLength).map { String(format: "%5d", $0) }.joined())
print("% of the vocabulary:    " + vocabularyShares.map { String(format: "%5.1f", $0) }.joined())
print("% of the val tokens:    " + textShares.map { String(format: "%5.1f", $0) }.joined())
let usedTokens = Set(tokenData.val)   // the distinct tokens the val text uses, bytes and merges
print("% of the \(usedTokens.count) used:".padding(toLength: 24, withPad: " ", startingAt: 0) + shares(usedTokens.map { bytePairs.tokenBytes[$0].count }).map { String(format: "%5.1f", $0) }.joined()
      + String(format: "   (the val tokens' mean length: %.2f bytes)",
               Double(tokenData.val.reduce(0) { $0 + bytePairs.tokenBytes[$1].count }) / Double(max(tokenData.val.count, 1))))
var singleByteCounts: [Int: Int] = [:]   // how often the val text uses each single-byte token
for token in tokenData.val where bytePairs.tokenBytes[token].count == 1 { singleByteCounts[token, default: 0] += 1 }
let commonest = singleByteCounts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(16)
print("the commonest single-byte val tokens: " + commonest.map { "\(bytePairs.display($0.key)) \($0.value)" }.joined(separator: ", "))
exitOnError {
    report.drew(try Plotter.shared.bars([Series("share of the vocabulary", x: (1...maxLength).map(Double.init), y: vocabularyShares),
                             Series("share of the validation text's tokens", x: (1...maxLength).map(Double.init), y: textShares)],
                            title: "\(report.heading): how long tokens are (\(bytePairs.vocabularySize) tokens)",
                            xLabel: "token length (bytes)", yLabel: "%", in: report.folder, name: "token-lengths"))
}
// Why the space and "a", two of the commonest bytes, stay single tokens so often is section 9's aside.

// MARK: - 5. The same NanoGPT on characters and on tokens
//
// Chapter 05's model and settings, twice. Only the embedding table and the output layer change size
// (V rows instead of 65): the config takes its vocabulary from the tokenizer, the rest from the settings.
// Both read the same validation text (the datasets of section 2).
// show: Sources/NanoGPT/NanoGPT.swift GPTConfig.init(_:vocabularySize:)
//
// The measure is the introduction's: bits per character of the same validation text, token loss /
// characters per token / ln 2. Predict which wins, and by how much; why comes after what the comparison
// holds equal. (One caveat leans against the byte pairs: the token model scores only the one spelling of
// the text that `encode` makes, while its probabilities also give some to other spellings of the same
// text. Its true probability of the text is a little higher, so its bits per character are an upper
// bound.)
//
// What is held equal, and what is not:
//
// - equal: the model's shape, the steps, and B × T tokens per step;
// - not equal, the parameters: the byte pairs' embedding and output layer have 512 rows instead of 65, so
//   447 × (128 + 128 + 1) = 114,879 more parameters (an embedding row, an output row and its bias per extra
//   token). Not all of them learn anything: 191 of the 256 byte tokens never occur in this text (it uses
//   65 bytes), so their 191 × 128 = 24,448 embedding numbers never get a gradient;
// - not equal, the cost of a step: about the same, since only the output layer grows (section 6 counts it,
//   +7%, and times it).
//
// And a token is about two characters, so per step the byte-pair model reads about twice the text, sees
// about twice as far back in characters (about 126 against 64), and goes over the training text about
// twice as often.
// That is the point of tokens, and also why the comparison is of whole recipes, not of tokenizers alone.

// (At step 0 the byte pairs are already ahead in bits per character, by construction: a uniform guess
// over 512 tokens costs log2(512) / 1.94 = 4.64 bits per character, over 65 characters log2(65) = 6.02.)
// The training step and the loop are chapter 05's, unchanged: gpt.py's.

section("5. The same NanoGPT on characters and on tokens")
/// Loss in nats per token -> bits per character of the same text. (Both datasets were cut from text, so both
/// count their characters: `charactersPerToken` is nil only for a dataset of bare tokens.)
func bitsPerCharacter(_ loss: Float, _ trainer: Trainer, on split: Split = .val) -> Double {
    Double(loss) / trainer.dataset.charactersPerToken(in: split)! / log(2)
}
/// Chapter 05's NanoGPT on `dataset`, trained with `runSettings` (the page's unless given), its log printed.
func trainNanoGPT(_ tokenizer: Tokenizer, on dataset: TokenDataset, label: String,
                  settings runSettings: Hyperparameters = settings) -> (model: NanoGPT, trainer: Trainer) {
    let config = GPTConfig(runSettings, vocabularySize: tokenizer.vocabularySize)
    let model = NanoGPT(config, seed: runSettings.seed)
    print(String(format: "\n%@: vocabulary %@, %@ parameters, train %@ tokens, val %@ tokens (%.2f characters each)",
                 label, tokenizer.summary, grouped(model.parameterCount), grouped(dataset.train.count),
                 grouped(dataset.val.count), dataset.charactersPerToken(in: .val)!))
    let trainer = Trainer(model: model, dataset: dataset, hyperparameters: runSettings)
    exitOnError { try trainer.train() }
    return (model, trainer)
}
/// The mean loss over the whole validation text, in nats per token: consecutive windows of T tokens (the
/// last one shorter), each scored in inference mode, so that every token but the first is predicted once.
func wholeValidationLoss(_ run: (model: NanoGPT, trainer: Trainer)) -> Double {
    let tokens = run.trainer.dataset.val, T = settings.blockSize
    var total = 0.0
    for start in stride(from: 0, to: tokens.count - 1, by: T) {
        let length = min(T, tokens.count - 1 - start)
        let loss = withoutGradients {
            crossEntropy(run.model.logits(Array(tokens[start..<(start + length)]), batchSize: 1, length: length, training: false),
                         targets: Array(tokens[(start + 1)...(start + length)]))   // (1, length, V) against the next tokens
        }
        total += Double(loss.scalar) * Double(length)
    }
    return total / Double(tokens.count - 1)
}
var bothSettings = settings   // section 6's control run, T doubled: checked before any training, so that a --block-size too large fails at once
bothSettings.blockSize = 2 * settings.blockSize
exitOnError {
    try bothSettings.validate()
    try bothSettings.checkFitsInMemory(vocabularySize: characters.vocabularySize)
}
let characterRun = trainNanoGPT(characters, on: characterData, label: "characters")
let tokenRun = trainNanoGPT(tokenizer, on: tokenData, label: "byte pairs")

var table = "| model | vocabulary | parameters | characters per token | val loss (nats per token) | val bits per character | the same, whole val text |\n"
table += "|---|---:|---:|---:|---:|---:|---:|\n"
for (label, run) in [("characters", characterRun), (preSplit == .none ? "byte pairs" : "byte pairs, \(preSplit.rawValue) pre-split", tokenRun)] {
    let last = run.trainer.evaluations.last!
    table += String(format: "| %@ | %d | %@ | %.2f | %.4f | **%.3f** | %.3f |\n", label, run.model.vocabularySize,
                    grouped(run.model.parameterCount), run.trainer.dataset.charactersPerToken(in: .val)!, last.valLoss,
                    bitsPerCharacter(last.valLoss, run.trainer), bitsPerCharacter(Float(wholeValidationLoss(run)), run.trainer))
}
table += "\nSame model, same steps, same B x T tokens per step; \(Machine.description).\n"
print("\n" + table)
endOfCell()
// The val loss, as in every chapter, is an estimate: the mean over 100 batches of 12 random windows of
// T + 1 tokens from the val split, as gpt.py's get_batch draws them. The table's last column scores every
// token of the validation text instead, in consecutive windows of T. Each window starts its context
// afresh, so its first positions are predicted from little context, in both models alike, as they are in
// the random windows. The byte pairs stay ahead there too, 2.228 against 2.305: by 0.077, where the
// estimates said 0.095. The gap shrinks by 0.02 and the order holds. The rest of the page compares
// estimates, as chapter 05's runs report them.
//
// Both models go through the same Trainer, folded below: a training step, the batch it draws (B windows
// of T + 1 tokens, the same for characters and byte pairs), and the estimate.
// fold: Sources/Training/Trainer.swift Trainer.trainStep
// fold: Sources/TextData/TokenDataset.swift TokenDataset.batch
// fold: Sources/Training/Trainer.swift Trainer.estimateLoss Trainer.meanLoss
//
// Each row of the table is one run of one seed. How far does a second seed move a result? The byte-pair
// model once more, from seed 1338: other first weights, other batches, the same tokenizer and text
// (its evaluation lines left out):
var secondSeedSettings = settings
secondSeedSettings.seed &+= 1   // wraps: any --seed has a next one
let secondSeedBits: Double = exitOnError {   // the model is freed once its loss is read
    let trainer = Trainer(model: NanoGPT(GPTConfig(secondSeedSettings, vocabularySize: tokenizer.vocabularySize),
                                         seed: secondSeedSettings.seed),
                          dataset: tokenData, hyperparameters: secondSeedSettings)
    try trainer.train(log: { _ in })
    return bitsPerCharacter(trainer.evaluations.last!.valLoss, trainer)
}
let firstSeedBits = bitsPerCharacter(tokenRun.trainer.evaluations.last!.valLoss, tokenRun.trainer)
print("byte pairs, val bits per character: seed \(settings.seed) " + String(format: "%.3f", firstSeedBits)
      + ", seed \(secondSeedSettings.seed) " + String(format: "%.3f, %.3f apart", secondSeedBits, abs(firstSeedBits - secondSeedBits)))
endOfCell()
// A difference between two rows of the table, or of section 6's controls, that is not much larger than
// the two seeds' is a tendency, not a law.
//
// Both models in one plot, in bits per character against step: the fair picture, each model's val curve
// dashed in its train curve's colour (each curve joins evaluations 500 steps apart, so the fall from step
// 0 to step 500 is drawn as one straight line). Before looking: will the byte pairs' train and val curves part more
// or less than the characters', and why? (loss.png, after it, shows each model's own loss, per token: its
// two models' curves are not comparable with each other. Each running mean, over the last 100 steps, lags
// behind its batch losses while they fall fast, in the first few hundred steps.)
/// A model's train curve and its val curve, dashed, in one colour.
func curves(_ run: (model: NanoGPT, trainer: Trainer), _ label: String, colour: Int) -> [Series] {
    let steps = run.trainer.evaluations.map { Double($0.step) }
    return [Series("\(label): train", x: steps, y: run.trainer.evaluations.map { bitsPerCharacter($0.trainLoss, run.trainer, on: .train) },
                   colour: colour),
            Series("\(label): val", x: steps, y: run.trainer.evaluations.map { bitsPerCharacter($0.valLoss, run.trainer) },
                   colour: colour, dashed: true)]
}
exitOnError {
    report.drew(try Plotter.shared.lines(curves(characterRun, "characters", colour: 0)
                                         + curves(tokenRun, "byte pairs \(bytePairs.vocabularySize)", colour: 1),
                             title: "\(report.heading): the same NanoGPT on characters and on byte pairs",
                             xLabel: "step", yLabel: "bits per character (same text)", in: report.folder, name: "bits-per-character"))
    try report.plotLoss([("characters", characterRun.trainer), ("byte pairs", tokenRun.trainer)],
                        title: "\(report.heading): each model's loss per token (not comparable across the two)")
}
endOfCell()
// In the bits-per-character figure the byte pairs' train and val curves part early and end further apart
// than the characters'. Already at step 500 the byte-pair model's val loss is 0.21 nats per token above
// its train loss, the characters' 0.03. That is before it has read its training text once (500 x 768 =
// 384,000 of its 511,000 training tokens). What is that early gap? A model with no memory beyond counts
// tells: chapter 01's counting bigram, fit on the training split's pairs (0.1 added to every count, so
// that no pair has probability 0) and scored on both splits. Two counts to go on: 65 characters make
// 4,225 possible pairs, each seen about 240 times in the training text on average; 512 tokens make
// 262,144 pairs, seen about twice each. Predict its gap for each vocabulary.

/// The counting bigram's loss in nats per token on `split`: -mean ln p(next | token), p from the training
/// split's pair counts, each plus 0.1.
func countedBigramLoss(_ data: TokenDataset, vocabularySize V: Int, on split: Split) -> Double {
    var pairs = [Double](repeating: 0.1, count: V * V), firsts = [Double](repeating: 0.1 * Double(V), count: V)
    for (a, b) in zip(data.train, data.train.dropFirst()) { pairs[a * V + b] += 1; firsts[a] += 1 }
    let tokens = data[split]
    return zip(tokens, tokens.dropFirst()).reduce(0.0) { $0 - log(pairs[$1.0 * V + $1.1] / firsts[$1.0]) } / Double(tokens.count - 1)
}
for (label, data, V) in [("characters", characterData, characters.vocabularySize), ("byte pairs", tokenData, tokenizer.vocabularySize)] {
    let (train, val) = (countedBigramLoss(data, vocabularySize: V, on: .train), countedBigramLoss(data, vocabularySize: V, on: .val))
    print(label.padding(toLength: 12, withPad: " ", startingAt: 0)
          + String(format: "counted bigram, nats per token: train %.4f, val %.4f, val above train by %.2f", train, val, val - train))
}
for (label, data) in [("characters", characterData), ("byte pairs", tokenData)] {   // how sparse the counts are where it matters
    var seen: [TokenPair: Int] = [:]                                                // pair -> times in the training split
    for (a, b) in zip(data.train, data.train.dropFirst()) { seen[TokenPair(a, b), default: 0] += 1 }
    let valPairs = zip(data.val, data.val.dropFirst()).map { TokenPair($0, $1) }
    let rare = valPairs.filter { seen[$0, default: 0] < 5 }.count
    print(label.padding(toLength: 12, withPad: " ", startingAt: 0)
          + String(format: "%.1f%% of the val text's adjacent pairs were seen fewer than 5 times in training",
                   100 * Double(rare) / Double(max(valPairs.count, 1))))
}
endOfCell()
// The counted bigram parts by about as much as the NanoGPT did at step 500, so the early gap is not
// passages learned by heart. It is consistent with the chance in sparse pair counts, which the larger
// vocabulary makes. Pairs seen about 240 times each carry over to new text. Pairs seen about twice
// mostly do not, and any model fit to them, the NanoGPT included, learns some of that chance. (About
// twice is an average over all 262,144 pairs, most of which never occur. The last two lines count the
// pairs the validation text does use: 6.3% of the byte pairs' were seen fewer than 5 times in training,
// against 0.2% of the characters'.)
// details: The later gap
// Later the gap keeps growing, to 0.445 nats per token at step 5,000, twice the bigram's. By then the
// byte-pair model has gone over its training text about 7.5 times (5,000 x 768 tokens over 511,000) and
// the character model about 3.8 times, so part of the later growth may be passages learned by heart; this
// page does not separate the two causes. More text per token type, or fewer types, would close the early
// gap. (A little of the bits-per-character gap is also the yardstick: the train curve divides by the
// training text's 1.96 characters per token, the val curve by the validation text's 1.94, section 2.)
// end details

// MARK: - 6. What the win is made of: the character model given the byte pairs' text and context
//
// Why do the byte pairs win? Per step they read about twice the text, 768 tokens of 1.94 characters (about
// 1,490 characters, against the character model's 768), and see about twice as far back (64 tokens span
// about 126 characters, against 64). Give the character model both and see whether it catches up: T 128
// with B kept at 12, so that a step reads 1,536 characters and sees 128 back, at about twice the compute.
// It also goes over its training text as often as the byte pairs do theirs: 5,000 x 1,536 characters over
// 1,003,854 is 7.7 passes, 5,000 x 768 tokens over about 511,000 is 7.5. Your guess first, as a number:
// where does it land? Then what the number would say: near the byte pairs' 2.214, the win is that text and
// context; near its own 2.309 at T 64, it is something else about tokens.
//
// What a step costs, counted: the products' multiply-adds per position, each Block's Linears 12C²
// (3C² for k, q, v, C² for the projection, 8C² for the feed-forward); attention's scores and weighted sum C
// per visible key each, (T + 1) / 2 keys on average under the causal mask; the output layer C × V, the only
// part that differs. The work between the products is left out (LayerNorms, softmaxes, ReLUs, AdamW), so
// the count is an estimate.
section("6. What the win is made of: the character model given the byte pairs' text and context")
/// Multiply-adds per position in one training step's forward products, part by part, by the count above
/// (the backward's products do about twice as many again, for both models alike).
func forwardProducts(blockSize T: Int, vocabularySize V: Int) -> [(part: String, multiplyAdds: Int)] {
    let (C, layers) = (settings.embeddingSize, settings.layers)
    return [("the Blocks' Linears: 12 C^2 a layer", layers * 12 * C * C),
            ("attention's scores and weighted sum: C (T + 1) a layer", layers * C * (T + 1)),   // 2 C x (T + 1) / 2 keys
            ("the output layer: C V", C * V)]
}
func forwardMultiplyAdds(blockSize T: Int, batchSize B: Int, vocabularySize V: Int) -> Int {
    B * T * forwardProducts(blockSize: T, vocabularySize: V).reduce(0) { $0 + $1.multiplyAdds }
}
func rightAligned(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
let productsPerPosition = [characters, tokenizer].map { forwardProducts(blockSize: settings.blockSize, vocabularySize: $0.vocabularySize) }
print("forward multiply-adds per position".padding(toLength: 56, withPad: " ", startingAt: 0) + "characters  byte pairs")
for (character, bytePair) in zip(productsPerPosition[0], productsPerPosition[1]) {
    print("  " + character.part.padding(toLength: 54, withPad: " ", startingAt: 0)
          + rightAligned(grouped(character.multiplyAdds), 10) + rightAligned(grouped(bytePair.multiplyAdds), 12))
}
let characterStepCost = forwardMultiplyAdds(blockSize: settings.blockSize, batchSize: settings.batchSize,
                                            vocabularySize: characters.vocabularySize)
let bytePairStepCost = forwardMultiplyAdds(blockSize: settings.blockSize, batchSize: settings.batchSize,
                                           vocabularySize: tokenizer.vocabularySize)
print("a step's forward multiply-adds: characters \(grouped(characterStepCost)), byte pairs \(grouped(bytePairStepCost)) "
      + String(format: "(%+.1f%%)", (Double(bytePairStepCost) / Double(characterStepCost) - 1) * 100))
endOfCell()
// The character model at T 128, by the same count, against the byte-pair model's step:
let bothStepCost = forwardMultiplyAdds(blockSize: bothSettings.blockSize, batchSize: bothSettings.batchSize,
                                       vocabularySize: characters.vocabularySize)
print("characters at T \(bothSettings.blockSize), B \(bothSettings.batchSize): \(grouped(bothStepCost)) forward multiply-adds a step, "
      + String(format: "%.2f x the byte pairs'", Double(bothStepCost) / Double(bytePairStepCost)))
endOfCell()
// Now trained: the character model with T 128 and B 12, chapter 05's seed and 5,000 steps (its
// evaluation lines printed, as the runs of section 5). It has 8,192 parameters more than at T 64: 64 more
// rows of the position table, 128 wide. Those rows are drawn first, with the token table, from the
// seeded generator, so every weight after them is another draw than at T 64: its step-0 loss differs
// (4.2421 against 4.1980). Then the three runs' val curves in one figure, and each run's measured time
// per step beside the count.
let bothData = exitOnError { try TokenDataset(text: text, tokenizer: characters, blockSize: bothSettings.blockSize) }
let bothRun = trainNanoGPT(characters, on: bothData, label: "characters, T \(bothSettings.blockSize), B \(bothSettings.batchSize)",
                           settings: bothSettings)
let threeRuns = [("characters, T \(settings.blockSize)", characterRun), ("byte pairs, T \(settings.blockSize)", tokenRun),
                 ("characters, T \(bothSettings.blockSize)", bothRun)]
print("\nval bits per character: " + threeRuns.map { label, run in
    label + String(format: " %.3f", bitsPerCharacter(run.trainer.evaluations.last!.valLoss, run.trainer)) }.joined(separator: "; "))
// The measured cost, beside the counted one. A step's time on a shared 2-core VM moves by tens of
// percent from minute to minute, so the steps are timed apart from the runs: a fresh model of each run's
// configuration takes 10 steps a round, the three in turn, for 5 rounds, and each keeps its fastest
// round, the one least disturbed by anything else on the machine (`fastestStepMilliseconds`, folded after
// the output). For the same reason these times need not match the training speed in the table at the
// page's end, measured over the byte-pair run minutes earlier: compare the ratios within one line.
let millisecondsPerStep = fastestStepMilliseconds([(characters.vocabularySize, characterData, settings),
                                                   (tokenizer.vocabularySize, tokenData, settings),
                                                   (characters.vocabularySize, bothData, bothSettings)])
print("milliseconds per training step, fastest of 5 rounds: " + zip(threeRuns, millisecondsPerStep).map { String(format: "%@ %.2f", $0.0, $1) }
      .joined(separator: "; "))
print(String(format: "byte pairs %+.1f%% on characters at T %d (counted: %+.1f%%); characters at T %d %.2f x the byte pairs' (counted: %.2f x)",
             (millisecondsPerStep[1] / millisecondsPerStep[0] - 1) * 100, settings.blockSize,
             (Double(bytePairStepCost) / Double(characterStepCost) - 1) * 100,
             bothSettings.blockSize, millisecondsPerStep[2] / millisecondsPerStep[1], Double(bothStepCost) / Double(bytePairStepCost)))
exitOnError {
    report.drew(try Plotter.shared.lines(threeRuns.map { label, run in
        Series(label, x: run.trainer.evaluations.map { Double($0.step) },
               y: run.trainer.evaluations.map { bitsPerCharacter($0.valLoss, run.trainer) })
    }, title: "\(report.heading): val bits per character, the byte pairs against the characters at T 64 and T 128",
       xLabel: "step", yLabel: "val bits per character (same text)", in: report.folder, name: "control"))
}
endOfCell()
// fold: Chapters/06-Tokens/StepTiming.swift fastestStepMilliseconds
//
// - Given the byte pairs' text and context a step, the character model ends where they do: 2.222,
//   against their 2.214 (one run of one seed each), closer than the byte pairs' own two seeds (0.022
//   apart, section 5), and with 106,687 fewer parameters (824,897 against 931,584). In the figure it
//   starts with the characters at T 64 and closes in on the byte pairs by step 4,000. So the win is
//   consistent with being that text and context, not the byte pairs' larger tables or anything else
//   about tokens.
// - A second seed agrees. Two of its three runs are chapter 05's, not this page's
//   (`scripts/run-exercises.sh` runs them, exercise 3):
//
// | val bits per character | seed 1337 | seed 1338 |
// |---|---:|---:|
// | characters, T 64 | 2.309 (section 5) | 2.324 (`ch05 --seed 1338`) |
// | characters, T 128 | 2.222 (above) | 2.219 (`ch05 --block-size 128 --seed 1338`) |
// | byte pairs | 2.214 (section 5) | 2.236 (section 5) |
//
// - Which of the two matters more, the text or the context? Exercise 3 runs each alone on chapter 05's
//   model; predict before you open its solution.
// - The byte-pair model gets that text for about the cost of one character step: 7% more multiply-adds
//   by the count. The character model pays for it with 1.94 times the byte pairs' multiply-adds. That is
//   what a tokenizer buys: more text for the same compute. The timed steps follow the count: compare the
//   two ratios in the output above.
//
// The chain so far, in five lines: 256 merges make a token of about two characters (sections 1 and 4);
// encoding replays them and decoding joins bytes, so any text survives (sections 2 and 3); bits per
// character put both models on one scale (section 5); there the byte pairs win, 2.214 against 2.309; and
// the character model given the same text and context a step wins as much, at about twice the multiply-adds (section 6).

// MARK: - 7. Streaming from the token model, whole characters only
//
// Chapter 05's generateStream on the byte-pair model, sampled at temperature 0.8 as in chapter 05 and
// printed through section 3's streaming decoder. Tiny Shakespeare is ASCII, so no byte waits here. It
// starts from the newline byte, the byte pairs' start token:
// show: Sources/TextData/Tokenizer.swift Tokenizer.startToken

section("7. Streaming from the token model, whole characters only")
print("generateStream() from the byte-pair model, \(settings.maxNewTokens) tokens:\n---")
var streamedText = tokenizer.streamingDecoder()
var streamed: [Int] = []
let generationStart = Date()
for token in tokenRun.model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens,
                                           options: SamplingOptions(temperature: 0.8), random: SeededRandom(seed: settings.seed, stream: .sampling)) {
    print(streamedText.text(after: token), terminator: "")
    fflush(stdout)
    streamed.append(token)
}
print(streamedText.finish(), terminator: "")
let generationRate = Double(streamed.count) / max(Date().timeIntervalSince(generationStart), 1e-9)
print(String(format: "\n---\n(%.0f tokens/s, %.0f characters/s)\n", generationRate,
             generationRate * Double(tokenizer.decode(streamed).unicodeScalars.count) / Double(max(streamed.count, 1))))

// MARK: - 8. Save, plot the attention over tokens, and write the summary
//
// The checkpoint carries its merges, in the order learned: all `encode` and `decode` need. Chapter 05's
// `Checkpoint.save` writes the tokenizer into the file's metadata as JSON, its keys sorted: {"format":
// ..., "merges": [[101, 32], ...], "preSplit": "none", "type": "bpe", ...}, so `nanogpt generate` streams
// from the file; loading checks every merge again (section 10's `init(merges:preSplit:)`).
//
// The attention figure: the first layer's heads on the first 16 tokens of the val text (every layer, on
// 24 tokens, in the linked figure). Look for a head that attends to the previous token. In the tick labels
// ␣ is a space and ⏎ a newline.

section("8. Save, plot the attention over tokens, and write the summary")
let checkpointFolder = URL(fileURLWithPath: command.checkpoint)
exitOnError { try Checkpoint.save(tokenRun.model, tokenizer: tokenizer, step: tokenRun.trainer.step, to: checkpointFolder) }
print("saved the byte-pair model to \(checkpointFolder.appendingPathComponent(Checkpoint.weightsFile).path)")
let reloaded = exitOnError { try Checkpoint.load(from: checkpointFolder) }
let sample = String(text.suffix(1_000))
print("loaded back: the same tokenizer: \(reloaded.tokenizer == tokenizer ? "yes" : "NO"); the same tokens for the text's last "
      + "1,000 characters: \(exitOnError { try reloaded.tokenizer.encode(sample) == tokenizer.encode(sample) } ? "yes" : "NO")")
print("its metadata's tokenizer, the first 100 characters: " + (reloaded.metadata["tokenizer"].map { String($0.prefix(100)) } ?? "none"))
print("stream from it with: swift run -c release nanogpt generate --checkpoint \(checkpointFolder.path)\n")

let prompt = Array(tokenRun.trainer.dataset.val.prefix(min(settings.blockSize, 24)))   // 24 tokens for the full figure
_ = tokenRun.model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
exitOnError {
    try report.plotAttentionByLayer(tokenRun.model.lastAttention, prompt: prompt, tokenizer: tokenizer, what: "the token model",
                                    positions: 16)   // tokens are several characters wide: fewer fit
    try report.writeSample(tokenizer.decode(streamed))
    try AtomicFile.write(table, to: report.folder.appendingPathComponent("comparison.md"))
    try report.writeSummary(trainer: tokenRun.trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
print("wrote \(report.folder.path)/: bits-per-character.png, token-lengths.png, control.png, loss.png, attention.png, attention-all-layers.png, comparison.md, sample.txt, summary.json")

// Head 2 is a previous-token head: most rows put most of their weight on the token just before (the row
// "ow" on the column "r", the row "ne" on the comma-and-space token before it, whose tick label draws
// squeezed). Chapter 03's character model had one too, but a token here is about two characters, so the
// same pattern reaches twice as far back in the text. Head 1 puts a steady share of each later row, about
// 0.2 to 0.3, on "IO:⏎", the token that ends the speaker's name, and spreads the rest thinly over the past;
// heads 0 and 3 look a few tokens back.

// MARK: - 9. Aside: GPT-2's pre-split
//
// Off the page's main thread: the models above used no pre-split, and only `--pre-split gpt2` uses GPT-2's
// (exercise 4 trains a model on it). A pre-split first cuts the text into chunks that no merge may cross.
// The default, `none`, keeps the text whole, so a merge can glue the end of one word to the start of the
// next. GPT-2's cuts it into words, numbers, punctuation and whitespace, each word keeping the space
// before it.
// details: GPT-2's rule, and how training weighs the chunks
// GPT-2 cuts by the expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// which PreSplit.swift's `GPT2Scanner` follows by hand, one rule per line (a test checks it against the
// expression on random Unicode). With a pre-split the same word recurs as a chunk, so
// `BytePairTokenizer.train` (section 1) merges each distinct chunk once and counts its pairs as often as
// the chunk occurs: the weights in its code.
// end details
// fold: Sources/TextData/PreSplit.swift PreSplit
//
// Below, the other pre-split trains the same number of merges on the same training text, only to compare.
// Expect fewer characters per token with GPT-2's: no token may hold a space after its first byte (the
// table's last column counts such tokens).

section("9. Aside: GPT-2's pre-split")
print("the GPT-2 pre-split of \"I'm 42 ok!!\": "
      + PreSplit.gpt2.chunks("I'm 42 ok!!").map { "\"" + String(decoding: Array("I'm 42 ok!!".utf8)[$0], as: UTF8.self) + "\"" }
        .joined(separator: " "))
let otherSplit: PreSplit = preSplit == .none ? .gpt2 : .none
let otherPairs = exitOnError { try BytePairTokenizer.train(on: trainingText, vocabularySize: vocabularySize, preSplit: otherSplit) }
let otherData = exitOnError { try TokenDataset(text: text, tokenizer: .bytePairs(otherPairs), blockSize: settings.blockSize) }
let bothSplits = [(preSplit, bytePairs, tokenData), (otherSplit, otherPairs, otherData)]
print("\npre-split   characters per token     merged tokens with a space after their first byte")
print("            training  validation")
for (split, pairs, data) in bothSplits {
    let spanning = (256..<pairs.vocabularySize).filter { pairs.tokenBytes[$0].dropFirst().contains(UInt8(ascii: " ")) }
    print(split.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(format: "%10.2f %11.2f", data.charactersPerToken(in: .train)!, data.charactersPerToken(in: .val)!)
          + "     \(spanning.count) of \(pairs.merges.count)")
}
let acrossWords = (256..<bytePairs.vocabularySize).filter { bytePairs.tokenBytes[$0].dropFirst().dropLast().contains(UInt8(ascii: " ")) }
print("\npre-split \(preSplit.rawValue): \(acrossWords.count) merged tokens hold a space between two other bytes, such as "
      + acrossWords.prefix(10).map { bytePairs.display($0) }.joined(separator: " "))
print("\nthe same start of the validation text with pre-split \(otherSplit.rawValue):\n  "
      + otherData.val.prefix(40).map { String(decoding: otherPairs.tokenBytes[$0], as: UTF8.self) }.joined(separator: "|")
        .replacingOccurrences(of: "\n", with: "⏎"))
endOfCell()
// - Without a pre-split a third of the merges hold a space after their first byte: nearly all a word, or
//   the end of one, with the space after it ("ood ", "the "), and a couple (two here) the end of one word
//   with the start of the next, or a comma with the word after it (the line after the table). GPT-2's
//   rules forbid both.
// - So GPT-2's vocabulary spends every merge inside words and their leading spaces, and the text takes a
//   few percent more tokens.
// - It also compresses the validation text, another play, less than its training text: from 1.94
//   characters per token down to 1.88 (with no pre-split, from 1.96 down to 1.94). A likely reason: its
//   merges, kept inside words, go to whole words, and which words a play uses varies more from play to
//   play than which pieces of words it uses.
// Whether a pre-split then predicts the text better, per character, is exercise 4's question. One thing
// to weigh: without a pre-split the same word becomes different tokens depending on what follows it
// ("the " before a space, "th" + "e," before a comma), so the model has to learn each common word in
// several spellings; with GPT-2's, a word is always the same tokens.
//
// Back to section 4's question, on this page's tokenizer (no pre-split): why are the space and "a", two
// of the commonest bytes, still single tokens so often? Whether a byte stands alone depends on its
// neighbours: it is merged only where a merge joins it with the token next to it. Below, for every place the space stands alone in the val text, the token before it; for every place
// "a" stands alone, the token after it; the eight commonest of each. Look at them, then at the reason
// after the output. The count, folded:
// fold: Chapters/06-Tokens/Neighbours.swift neighboursWhereAlone

for (name, byte, side) in [("the space", 32, -1), ("a", 97, 1)] {   // the token of byte b is b
    let alone = neighboursWhereAlone(byte, in: tokenData.val, side: side)   // neighbouring token -> times alone
    let total = alone.values.reduce(0, +)
    print("\(name) alone \(grouped(total)) times; the token \(side < 0 ? "before" : "after") it: "
          + alone.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(8).map { "\(bytePairs.display($0.key)) \($0.value)" }
            .joined(separator: ", "))
}

// Each neighbour is a common token that no merge joins with the byte: a merge of "you" and the space
// would be one more pair, and 256 merges go only to the commonest. Or the neighbour took the byte's
// usual partner first: "a" stands alone most often before 'ke ', a token the merges made. The capitals
// (A, I, T) stand alone because Tiny Shakespeare's speaker names are in capitals (GREMIO, BAPTISTA), too
// few for many merges. A larger vocabulary would fold more of these into longer tokens.

// MARK: - 10. Appendix: the code around the idea
//
// What the sections above use and name, but which is not the tokenizer's idea: how the library trains the
// same merges fast, how its encode runs, why that encode agrees with minbpe's, and the byte-level decoder
// under section 3's streaming decoder.
//
// Section 1's fast trainer. The plain version rescans the whole text for every merge (section 1 printed
// how much slower that is on 20,000 characters). The library's keeps each distinct chunk as a linked list of tokens, with an index from each pair to the places it
// occurs and a running count of every pair, so a merge touches only the places where its pair is and
// updates the counts there (a stale place, merged away since, is skipped when it comes up). Finding the
// most frequent pair still looks at every distinct pair's count, once a merge: far fewer than the text's
// tokens. A pair is two token ids:
// show: Sources/TextData/PairMerging.swift TokenPair
// One merge, traced on a single chunk [1, 2, 3, 1, 2]: merge (1, 2) into 4 at the places the index lists
// for it, positions 0 and 3 (· marks a position merged into its left neighbour and unlinked; a test
// checks the tokens and the pair counts at the start and at the end):
//   position   0  1  2  3  4   pair counts                  the list
//   start      1  2  3  1  2   (1,2) 2   (2,3) 1   (3,1) 1    next[0] = 1
//   at 0       4  ·  3  1  2   (1,2) 1   (4,3) 1   (3,1) 1    next[0] = 2: position 1 skipped
//   at 3       4  ·  3  4  ·   (4,3) 1   (3,4) 1              next[3] = -1: the chunk ends
// Reading along `next` from position 0 gives [4, 3, 4], as PlainBytePairs.merge returns. Each merged place
// forgets the pairs it broke, (x, a) (a, b) (b, y), and records the pairs it made, (x, Z) (Z, y).
// A place can go stale: a pair that overlaps itself, as in [1, 1, 1] merging (1, 1) into 5, is listed at
// positions 0 and 1, and merging at 0 takes position 1's left token away (the same test checks it):
//   position   0  1  2   pair counts   the list
//   start      1  1  1   (1,1) 2       next[0] = 1
//   at 0       5  ·  1   (5,1) 1       next[0] = 2: both (1,1) pairs forgotten, (5,1) recorded
//   at 1       5  ·  1   (5,1) 1       skipped: tokens[1] is no longer 1 (merge's "stale: merged since")
// The result, [5, 1], is the plain version's left-to-right scan. The structure itself, folded (its merge,
// count and find-the-best loops, about 120 lines):
// fold: Sources/TextData/PairMerging.swift MergeableChunks
//
// The library's training loop, on that structure: the plain version's loop, with the recount replaced by
// the running counts. (Its chunk weights matter only with a pre-split, section 9; without one the whole
// text is one chunk, of weight 1.)
// show: Sources/TextData/BytePairTokenizer.swift BytePairTokenizer.train
// The tokenizer it returns spells every token as bytes (minbpe's vocab), built once from the merges: a
// merged token is its pair's bytes joined. Its initializer, which also refuses crafted merges (a merge
// naming a token not made yet, or merges that would spell too many bytes), as a checkpoint's are read:
// show: Sources/TextData/BytePairTokenizer.swift BytePairTokenizer.init(merges:preSplit:)
//
// Section 3's byte-level streaming decoder, which holds back the bytes of an unfinished character:
// fold: Sources/TextData/UTF8StreamDecoder.swift UTF8StreamDecoder
//
// The library's `encode`: section 2's passes, run on that structure, whose `merge` replaces each occurrence
// of the pair left to right as `PlainBytePairs.merge` does, without copying the text each time. It
// encodes each distinct chunk once, since with a pre-split the same word recurs, and puts the text back
// together from them:
// show: Sources/TextData/BytePairTokenizer.swift BytePairTokenizer.encode
//
// Why one pass per merge in the order learned gives the same tokens as minbpe's loop (merge the pair of
// the lowest rank present, repeat), in three steps:
//   1. Merge r makes token 256 + r, and every merge that uses that token was learned after it, so it has a
//      higher rank than r.
//   2. So merging pair r never creates a pair of rank r or lower: the lowest rank minbpe finds only grows.
//   3. So minbpe visits the merges in rank order, the order one pass replays them in, skipping those whose
//      pair is absent; and a pass that merges every occurrence of pair r before moving on leaves nothing
//      of rank r for later.
// Both on "aaab", with section 1's toy merges (256 = a a, 257 = a b, 258 = 256 257), then on section 2's
// 20,000 characters with the page's merges; the tests check both on other texts too. (minbpe's trainer
// would have learned other toy merges: of the tied pairs it takes the one it met first in the text,
// (256, 97), and then (257, 98). Its 258 spells "aaab" too.)

section("10. Appendix: the code around the idea")
let toyMerges = PlainBytePairs.train(toyText, vocabularySize: 259)
var onePass = Array("aaab".utf8).map(Int.init)
print("one pass per merge: \(onePass)", terminator: "")
for (index, pair) in toyMerges.enumerated() {
    onePass = PlainBytePairs.merge(onePass, pair, into: 256 + index)
    print(" -> \(onePass)", terminator: "")
}
print("\nminbpe's loop, the same merges: \(PlainBytePairs.encode("aaab", merges: toyMerges))")
let minbpeTokens = PlainBytePairs.encode(excerpt, merges: bytePairs.merges, preSplit: preSplit)
print("section 2's 20,000 characters with the page's merges, minbpe's loop against the library's encode: "
      + (minbpeTokens == bytePairs.encode(excerpt) ? "the same \(grouped(minbpeTokens.count)) tokens" : "DIFFERENT tokens"))
endOfCell()
